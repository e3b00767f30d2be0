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

package plugin

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/heal8s/heal8s/api/v1alpha1"
	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/defaults"
	"github.com/heal8s/heal8s/internal/routing"
	webhookv1beta1 "github.com/heal8s/heal8s/internal/webhook/v1beta1"
)

// Stdin is the file name that reads standard input, as in kubectl -f -.
const Stdin = "-"

// Kinds of heal8s's API the plugin reads and names.
const (
	policyKind      = "RemediationPolicy"
	remediationKind = "Remediation"
)

// LoadPolicies reads RemediationPolicies from YAML (or JSON) files and directories, as
// kubectl apply -f would: every document of a multi-document file, every *.yaml, *.yml and
// *.json file of a directory (not its subdirectories), "-" for standard input, and the items
// of a List (kubectl get -o yaml). heal8s.io/v1beta1 policies are taken as they are;
// heal8s.io/v1alpha1 ones are converted to v1beta1 with the API's own conversion. Documents of
// other kinds are ignored with a note, and so is a later definition of a policy already read.
// Unknown fields are errors, as with kubectl apply's strict validation. Policies keep the
// namespace their metadata gives, possibly none: see SetDefaultNamespace.
func LoadPolicies(paths []string) ([]*v1beta1.RemediationPolicy, []string, error) {
	return loadPolicies(paths, os.Stdin)
}

func loadPolicies(paths []string, stdin io.Reader) ([]*v1beta1.RemediationPolicy, []string, error) {
	var (
		out   []*v1beta1.RemediationPolicy
		notes []string
		seen  = map[types.NamespacedName]string{}
	)
	add := func(source string, ps []*v1beta1.RemediationPolicy, ns []string) {
		notes = append(notes, ns...)
		for _, p := range ps {
			key := policyKey(p)
			if first, dup := seen[key]; dup {
				notes = append(notes, fmt.Sprintf("%s: RemediationPolicy %s is already defined in %s; this one is ignored",
					source, policyName(p), first))
				continue
			}
			seen[key] = source
			out = append(out, p)
		}
	}
	for _, path := range paths {
		if path == Stdin {
			ps, ns, err := DecodePolicies("stdin", stdin)
			if err != nil {
				return nil, nil, err
			}
			add("stdin", ps, ns)
			continue
		}
		files, err := policyFiles(path)
		if err != nil {
			return nil, nil, err
		}
		if len(files) == 0 {
			notes = append(notes, fmt.Sprintf("%s: no *.yaml, *.yml or *.json file in the directory", path))
		}
		for _, f := range files {
			ps, ns, err := decodeFile(f)
			if err != nil {
				return nil, nil, err
			}
			add(f, ps, ns)
		}
	}
	return out, notes, nil
}

// policyKey returns a policy's key; policies without a namespace share the empty one.
func policyKey(p *v1beta1.RemediationPolicy) types.NamespacedName {
	return types.NamespacedName{Namespace: p.Namespace, Name: p.Name}
}

func policyName(p *v1beta1.RemediationPolicy) string {
	if p.Namespace == "" {
		return p.Name
	}
	return p.Namespace + "/" + p.Name
}

// policyFiles lists the files a -f argument names: the file itself, or a directory's policy files.
func policyFiles(path string) ([]string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("reading policies: %w", err)
	}
	if !fi.IsDir() {
		return []string{path}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("reading policies from directory %s: %w", path, err)
	}
	var files []string
	for _, e := range entries {
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".yaml", ".yml", ".json":
			if !e.IsDir() {
				files = append(files, filepath.Join(path, e.Name()))
			}
		}
	}
	slices.Sort(files)
	return files, nil
}

func decodeFile(path string) ([]*v1beta1.RemediationPolicy, []string, error) {
	f, err := os.Open(path) //nolint:gosec // the user names the file to read
	if err != nil {
		return nil, nil, fmt.Errorf("reading policies: %w", err)
	}
	defer func() { _ = f.Close() }()
	return DecodePolicies(path, f)
}

// typeMeta is the part of any document that says what it is.
type typeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Items []json.RawMessage `json:"items"`
}

// DecodePolicies reads the RemediationPolicies of one multi-document YAML or JSON stream; source
// names it in notes and errors. See LoadPolicies for what is accepted.
func DecodePolicies(source string, r io.Reader) ([]*v1beta1.RemediationPolicy, []string, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(r))
	var (
		out   []*v1beta1.RemediationPolicy
		notes []string
	)
	for i := 1; ; i++ {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("reading policies from %s: document %d: %w", source, i, err)
		}
		where := fmt.Sprintf("%s: document %d", source, i)
		ps, ns, err := decodeDocument(where, doc)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, ps...)
		notes = append(notes, ns...)
	}
	return out, notes, nil
}

// decodeDocument decodes one document: a policy, a List of documents, or something ignored.
func decodeDocument(where string, doc []byte) ([]*v1beta1.RemediationPolicy, []string, error) {
	if len(bytes.TrimSpace(stripComments(doc))) == 0 {
		return nil, nil, nil
	}
	data, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return nil, nil, fmt.Errorf("reading policies from %s: %w", where, err)
	}
	if string(data) == "null" {
		return nil, nil, nil
	}
	var tm typeMeta
	if err := json.Unmarshal(data, &tm); err != nil {
		return nil, nil, fmt.Errorf("reading policies from %s: not a Kubernetes object: %w", where, err)
	}
	gv := tm.APIVersion
	switch {
	case tm.Kind == "" || gv == "":
		return nil, []string{fmt.Sprintf("%s: no apiVersion and kind: ignored", where)}, nil
	case tm.Kind == "List" || tm.Kind == policyKind+"List":
		var (
			out   []*v1beta1.RemediationPolicy
			notes []string
		)
		for j, item := range tm.Items {
			ps, ns, err := decodeDocument(fmt.Sprintf("%s, items[%d]", where, j), item)
			if err != nil {
				return nil, nil, err
			}
			out = append(out, ps...)
			notes = append(notes, ns...)
		}
		return out, notes, nil
	case tm.Kind != policyKind || !strings.HasPrefix(gv, v1beta1.GroupVersion.Group+"/"):
		return nil, []string{fmt.Sprintf("%s: %s %s (%s) is not a RemediationPolicy: ignored", where, tm.Kind, tm.Metadata.Name, gv)}, nil
	}
	var (
		p     *v1beta1.RemediationPolicy
		notes []string
	)
	switch gv {
	case v1beta1.GroupVersion.String():
		p = &v1beta1.RemediationPolicy{}
		if err := decodeStrict(data, p); err != nil {
			return nil, nil, fmt.Errorf("reading policies from %s: RemediationPolicy %s: %w", where, tm.Metadata.Name, err)
		}
	case v1alpha1.GroupVersion.String():
		old := &v1alpha1.RemediationPolicy{}
		if err := decodeStrict(data, old); err != nil {
			return nil, nil, fmt.Errorf("reading policies from %s: RemediationPolicy %s: %w", where, tm.Metadata.Name, err)
		}
		p = &v1beta1.RemediationPolicy{}
		if err := old.ConvertTo(p); err != nil {
			return nil, nil, fmt.Errorf("reading policies from %s: converting v1alpha1 RemediationPolicy %s to v1beta1: %w",
				where, tm.Metadata.Name, err)
		}
		notes = append(notes, fmt.Sprintf("%s: RemediationPolicy %s converted from %s to %s", where, tm.Metadata.Name, gv,
			v1beta1.GroupVersion))
	default:
		return nil, nil, fmt.Errorf("reading policies from %s: RemediationPolicy %s has apiVersion %s; kubectl heal8s reads %s and %s",
			where, tm.Metadata.Name, gv, v1beta1.GroupVersion, v1alpha1.GroupVersion)
	}
	p.APIVersion, p.Kind = v1beta1.GroupVersion.String(), policyKind
	if p.Name == "" {
		return nil, nil, fmt.Errorf("reading policies from %s: RemediationPolicy without metadata.name", where)
	}
	return []*v1beta1.RemediationPolicy{p}, notes, nil
}

// decodeStrict decodes JSON as the API server does with strict field validation: case-sensitive,
// and an unknown or duplicate field is an error naming its path.
func decodeStrict(data []byte, obj any) error {
	strict, err := kjson.UnmarshalStrict(data, obj)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}

// stripComments drops whole-line YAML comments, so a document of comments only counts as empty.
func stripComments(doc []byte) []byte {
	var b bytes.Buffer
	for line := range bytes.Lines(doc) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' {
			b.Write(line)
		}
	}
	return b.Bytes()
}

// SetDefaultNamespace puts every policy without a namespace in ns, as kubectl apply would put it
// in the context's namespace, and says so in a note for each.
func SetDefaultNamespace(policies []*v1beta1.RemediationPolicy, ns string) []string {
	var notes []string
	for _, p := range policies {
		if p.Namespace == "" {
			p.Namespace = ns
			notes = append(notes, fmt.Sprintf("RemediationPolicy %s has no namespace: taken as %s (-n)", p.Name, ns))
		}
	}
	return notes
}

// PolicyReport is what building the table found about one policy: its Ready condition as the
// policy controller would write it, and what the admission webhook would refuse.
type PolicyReport struct {
	// Policy is the policy's namespace and name.
	Policy types.NamespacedName `json:"policy"`
	// Ready, Reason and Message are the policy controller's Ready condition (Compiled,
	// CompileFailed or Suspended).
	Ready   bool   `json:"ready"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
	// Rules is how many rules compiled into the table (status.compiledRules).
	Rules int `json:"rules"`
	// CompileError is routing.Compile's error: the rule that did not compile and why.
	CompileError *routing.CompileError `json:"-"`
	// Invalid lists what the validating webhook would refuse; such a policy could not be
	// created, but it is routed anyway so its rules can be tried.
	Invalid field.ErrorList `json:"-"`
}

// BuildTable compiles every policy with routing.Compile into a table built with opts, exactly as
// the policy controller fills the manager's table: a policy that does not compile is still in
// the table, not ready (alerts its rules might match are skipped as policy_not_ready), and its
// report carries the CompileError the controller puts in the Ready condition. The reports are in
// the order of policies. The error is only for a policy without a name or namespace.
func BuildTable(policies []*v1beta1.RemediationPolicy, opts routing.TableOptions) (*routing.Table, []PolicyReport, error) {
	table := routing.NewTable(opts)
	reports := make([]PolicyReport, 0, len(policies))
	for _, p := range policies {
		if p == nil || p.Name == "" || p.Namespace == "" {
			return nil, nil, fmt.Errorf("building the routing table: a RemediationPolicy needs a name and a namespace")
		}
		compiled, err := routing.Compile(p)
		table.Set(compiled)
		r := PolicyReport{Policy: compiled.Key, Rules: len(compiled.Rules)}
		switch {
		case err != nil:
			r.Reason, r.Message, r.Rules = v1beta1.CompileFailedReason, err.Error(), 0
			if ce, ok := errors.AsType[*routing.CompileError](err); ok {
				r.CompileError = ce
			}
		case compiled.Suspended:
			r.Reason = v1beta1.SuspendedReason
			r.Message = fmt.Sprintf("All %d rules compiled; the policy is suspended and starts no remediation", len(compiled.Rules))
		default:
			r.Ready, r.Reason = true, v1beta1.CompiledReason
			r.Message = fmt.Sprintf("All %d rules compiled into the routing table", len(compiled.Rules))
		}
		// The validating webhook sees the policy after the defaulting webhook.
		defaulted := p.DeepCopy()
		defaults.Policy(defaulted)
		r.Invalid = webhookv1beta1.ValidatePolicy(defaulted, opts.OperatorNamespace)
		reports = append(reports, r)
	}
	return table, reports, nil
}

// ReadyCondition returns the report as the Ready condition the policy controller would write.
func (r PolicyReport) ReadyCondition() metav1.Condition {
	c := metav1.Condition{Type: v1beta1.ConditionReady, Status: metav1.ConditionFalse, Reason: r.Reason, Message: r.Message}
	if r.Ready {
		c.Status = metav1.ConditionTrue
	}
	return c
}
