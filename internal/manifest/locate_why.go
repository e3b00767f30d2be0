/*
Copyright 2026 The heal8s Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package manifest

import (
	"context"
	"fmt"

	heal8sv1beta1 "github.com/heal8s/heal8s/api/v1beta1"
)

// LocateWhy is Locate with the reason the location was chosen, for the Remediation's status and
// the pull request (why none was is in Locate's error).
func LocateWhy(ctx context.Context, repo Repo, obj Object, hints Hints) (Location, string, error) {
	loc, err := Locate(ctx, repo, obj, hints)
	if err != nil {
		return Location{}, "", err
	}
	switch {
	case obj.Annotations[heal8sv1beta1.AnnotationSourcePath] != "":
		return loc, fmt.Sprintf("%s, named by the target's %s annotation", loc, heal8sv1beta1.AnnotationSourcePath), nil
	case hints.PathTemplate != "":
		return loc, fmt.Sprintf("%s, from the policy's path template %q", loc, hints.PathTemplate), nil
	}
	where := "the repository"
	if hints.Under != "" {
		where = hints.Under + "/"
	}
	ns := ""
	if hints.NamespacelessMatches {
		ns = fmt.Sprintf(" (a document without metadata.namespace counts: the GitOps tool applies it to %s)", obj.Namespace)
	}
	return loc, fmt.Sprintf("%s, the only document in %s that declares %s%s", loc, where, obj, ns), nil
}
