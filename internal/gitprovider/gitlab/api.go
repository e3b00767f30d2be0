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

package gitlab

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/heal8s/heal8s/internal/gitprovider"
)

const tokenHeader = "PRIVATE-TOKEN"

// maxBody caps what is read of one answer; a manifest or a page of 100 merge requests is far
// smaller.
const maxBody = 16 << 20

// Parameters of GitLab's REST API that several calls send.
const (
	perPageParam   = "per_page"   // page size of a list (at most 100)
	addLabelsParam = "add_labels" // labels a merge request update adds, comma-separated
)

// APIError is a GitLab answer other than 2xx. GitLab's body is {"message": ...} where message is
// a string, a list or a map of field errors; Message holds it flattened.
type APIError struct {
	Status  int
	Method  string
	Path    string
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("GitLab %s %s: HTTP %d: %s", e.Method, e.Path, e.Status, e.Message)
}

// Is makes a 404 match gitprovider.ErrNotFound.
func (e *APIError) Is(target error) bool {
	return target == gitprovider.ErrNotFound && e.Status == http.StatusNotFound
}

// projectPath is the URL-encoded project path GitLab accepts in place of the numeric id
// ("group/sub/project" -> "group%2Fsub%2Fproject").
func projectPath(repository string) (string, error) {
	parts := strings.Split(repository, "/")
	if len(parts) < 2 {
		return "", fmt.Errorf("%w: repository %q is not group/project", gitprovider.ErrInvalidProposal, repository)
	}
	for _, p := range parts {
		if p == "" || p == "." || p == ".." {
			return "", fmt.Errorf("%w: repository %q is not group/project", gitprovider.ErrInvalidProposal, repository)
		}
	}
	return url.PathEscape(repository), nil
}

// do sends one API call. path is relative to the API root and already escaped; body, when not
// nil, is sent as JSON; out, when not nil, receives the JSON answer. raw answers come back in the
// returned bytes when out is nil.
func (p *Provider) do(ctx context.Context, method, path string, query url.Values, body, out any) ([]byte, http.Header, error) {
	u := p.base.String() + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return nil, nil, fmt.Errorf("encoding %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, nil, fmt.Errorf("building %s %s: %w", method, path, err)
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(payload)), nil }
	}
	req.Header.Set(tokenHeader, p.token)
	req.Header.Set("User-Agent", "heal8s")
	req.Header.Set("Accept", "application/json")
	resp, err := p.http.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("GitLab %s %s: %w", method, req.URL.Path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, resp.Header, fmt.Errorf("GitLab %s %s: reading the answer: %w", method, req.URL.Path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, resp.Header, &APIError{Status: resp.StatusCode, Method: method, Path: req.URL.Path, Message: errorMessage(b)}
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return nil, resp.Header, fmt.Errorf("GitLab %s %s: decoding the answer: %w", method, req.URL.Path, err)
		}
	}
	return b, resp.Header, nil
}

// errorMessage flattens GitLab's {"message": string | []string | map[string][]string} or
// {"error": string}.
func errorMessage(b []byte) string {
	var env struct {
		Message json.RawMessage `json:"message"`
		Error   string          `json:"error"`
	}
	if json.Unmarshal(b, &env) != nil {
		if len(b) > 200 {
			b = b[:200]
		}
		return strings.TrimSpace(string(b))
	}
	if env.Error != "" {
		return env.Error
	}
	var s string
	if json.Unmarshal(env.Message, &s) == nil {
		return s
	}
	var list []string
	if json.Unmarshal(env.Message, &list) == nil {
		return strings.Join(list, "; ")
	}
	var fields map[string][]string
	if json.Unmarshal(env.Message, &fields) == nil {
		var out []string
		for k, v := range fields {
			out = append(out, k+" "+strings.Join(v, ", "))
		}
		return strings.Join(out, "; ")
	}
	return string(env.Message)
}

func statusOf(err error) int {
	if ae, ok := errors.AsType[*APIError](err); ok {
		return ae.Status
	}
	return 0
}

// mergeRequest is the part of GitLab's merge request object heal8s reads
// (GET /projects/:id/merge_requests/:iid).
type mergeRequest struct {
	ID           int64      `json:"id"`
	IID          int        `json:"iid"`
	Title        string     `json:"title"`
	State        string     `json:"state"`
	SourceBranch string     `json:"source_branch"`
	TargetBranch string     `json:"target_branch"`
	SHA          string     `json:"sha"`
	WebURL       string     `json:"web_url"`
	Labels       []string   `json:"labels"`
	UpdatedAt    *time.Time `json:"updated_at"`
	MergedAt     *time.Time `json:"merged_at"`
	ClosedAt     *time.Time `json:"closed_at"`
}

// NodeID is the merge request's instance-wide id, which unlike its iid is never shared with a
// merge request of another project.
func nodeID(id int64) string { return "gitlab-mr-" + strconv.FormatInt(id, 10) }

func (m mergeRequest) convert(repository string) gitprovider.PullRequest {
	out := gitprovider.PullRequest{
		Repository: repository, Number: m.IID, URL: m.WebURL, Branch: m.SourceBranch, HeadSHA: m.SHA,
		State: convertState(m.State), Labels: append([]string{}, m.Labels...), NodeID: nodeID(m.ID),
		Edited: slices.Contains(m.Labels, gitprovider.EditedLabel),
	}
	if m.UpdatedAt != nil {
		out.UpdatedAt = m.UpdatedAt.UTC()
	}
	if m.MergedAt != nil && out.State == gitprovider.StateMerged {
		t := m.MergedAt.UTC()
		out.MergedAt = &t
	}
	if m.ClosedAt != nil && out.State != gitprovider.StateOpen {
		t := m.ClosedAt.UTC()
		out.ClosedAt = &t
	}
	if out.State == gitprovider.StateMerged && out.ClosedAt == nil && out.MergedAt != nil {
		out.ClosedAt = out.MergedAt
	}
	return out
}

// convertState maps GitLab's opened, closed, merged and locked (a merge in progress) onto
// heal8s's three states.
func convertState(s string) gitprovider.State {
	switch s {
	case "merged":
		return gitprovider.StateMerged
	case "closed":
		return gitprovider.StateClosed
	default:
		return gitprovider.StateOpen
	}
}

// commitInfo is the part of a commit object heal8s reads.
type commitInfo struct {
	ID      string `json:"id"`
	Message string `json:"message"`
}
