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

package v1beta1

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/defaults"
	"github.com/heal8s/heal8s/internal/gitaccess"
	"github.com/heal8s/heal8s/internal/manifest"
	"github.com/heal8s/heal8s/internal/routing"
)

// SetupRemediationPolicyWebhookWithManager registers the defaulting and validating webhooks for
// RemediationPolicy, and (because v1beta1 is the hub) the conversion webhook. operatorNamespace
// is the only namespace whose policies may act cluster-wide; git is the platform's rule for Git
// hosts (--git-hosts), which spec.git.baseURL must follow.
func SetupRemediationPolicyWebhookWithManager(mgr ctrl.Manager, operatorNamespace string, git gitaccess.Config) error {
	return ctrl.NewWebhookManagedBy(mgr, &v1beta1.RemediationPolicy{}).
		WithValidator(&RemediationPolicyValidator{OperatorNamespace: operatorNamespace, Git: &git}).
		WithDefaulter(&RemediationPolicyDefaulter{}).
		Complete()
}

// +kubebuilder:webhook:path=/mutate-heal8s-io-v1beta1-remediationpolicy,mutating=true,failurePolicy=fail,sideEffects=None,groups=heal8s.io,resources=remediationpolicies,verbs=create;update,versions=v1beta1,name=mremediationpolicy-v1beta1.kb.io,admissionReviewVersions=v1

// RemediationPolicyDefaulter fills the defaults docs/policies.md lists, so what is stored says exactly what the
// policy will do.
type RemediationPolicyDefaulter struct{}

var _ admission.Defaulter[*v1beta1.RemediationPolicy] = &RemediationPolicyDefaulter{}

// Default fills the policy's defaults.
func (d *RemediationPolicyDefaulter) Default(_ context.Context, obj *v1beta1.RemediationPolicy) error {
	defaults.Policy(obj)
	return nil
}

// +kubebuilder:webhook:path=/validate-heal8s-io-v1beta1-remediationpolicy,mutating=false,failurePolicy=fail,sideEffects=None,groups=heal8s.io,resources=remediationpolicies,verbs=create;update,versions=v1beta1,name=vremediationpolicy-v1beta1.kb.io,admissionReviewVersions=v1

// RemediationPolicyValidator rejects policies heal8s could not act on safely, naming the field.
type RemediationPolicyValidator struct {
	// OperatorNamespace is the only namespace whose policies may set spec.namespaceSelector.
	OperatorNamespace string
	// Git, when set, is the platform's Git host allowlist spec.git.baseURL must name (https
	// only unless it allows http); nil checks the URL's form only (kubectl heal8s, offline).
	Git *gitaccess.Config
}

var _ admission.Validator[*v1beta1.RemediationPolicy] = &RemediationPolicyValidator{}

// ValidateCreate checks a new policy.
func (v *RemediationPolicyValidator) ValidateCreate(_ context.Context, obj *v1beta1.RemediationPolicy) (admission.Warnings, error) {
	return nil, invalid(obj, v.validate(obj))
}

// ValidateUpdate checks a changed policy like a new one.
func (v *RemediationPolicyValidator) ValidateUpdate(_ context.Context, _, newObj *v1beta1.RemediationPolicy) (admission.Warnings, error) {
	return nil, invalid(newObj, v.validate(newObj))
}

// ValidateDelete allows every deletion.
func (v *RemediationPolicyValidator) ValidateDelete(_ context.Context, _ *v1beta1.RemediationPolicy) (admission.Warnings, error) {
	return nil, nil
}

// ValidatePolicy returns every problem of a policy with its field path. It is exported for the
// policy controller, which reports the same errors in status when webhooks are off.
func ValidatePolicy(p *v1beta1.RemediationPolicy, operatorNamespace string) field.ErrorList {
	return (&RemediationPolicyValidator{OperatorNamespace: operatorNamespace}).validate(p)
}

func (v *RemediationPolicyValidator) validate(p *v1beta1.RemediationPolicy) field.ErrorList {
	spec := field.NewPath("spec")
	var errs field.ErrorList
	errs = append(errs, validateRules(spec.Child("rules"), p.Spec.Rules)...)
	errs = append(errs, validateStrategy(spec.Child("strategy"), p.Spec.Strategy)...)
	errs = append(errs, v.validateGit(spec, p.Spec.Strategy, p.Spec.Git)...)
	errs = append(errs, validateSafety(spec.Child("safety"), p.Spec.Safety)...)
	errs = append(errs, validateVerify(spec.Child("verify"), p.Spec.Verify)...)
	errs = append(errs, v.validateNamespaceSelector(spec.Child("namespaceSelector"), p.Namespace, p.Spec.NamespaceSelector)...)
	return errs
}

func validateRules(path *field.Path, rules []v1beta1.Rule) field.ErrorList {
	if len(rules) == 0 {
		return field.ErrorList{field.Required(path, "at least one rule is needed")}
	}
	var errs field.ErrorList
	seen := map[string]bool{}
	for i, r := range rules {
		p := path.Index(i)
		if r.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), ""))
		} else {
			for _, msg := range validation.IsDNS1123Label(r.Name) {
				errs = append(errs, field.Invalid(p.Child("name"), r.Name, msg))
			}
			if seen[r.Name] {
				errs = append(errs, field.Duplicate(p.Child("name"), r.Name))
			}
			seen[r.Name] = true
		}
		errs = append(errs, validateMatchers(p.Child("matchers"), r.Matchers)...)
		errs = append(errs, validateAction(p.Child("action"), r.Action)...)
		errs = append(errs, validateTargetOverride(p.Child("target"), r.Target)...)
	}
	return errs
}

func validateMatchers(path *field.Path, matchers []string) field.ErrorList {
	if len(matchers) == 0 {
		return field.ErrorList{field.Required(path, `at least one matcher is needed, e.g. alertname="KubePodOOMKilled"`)}
	}
	var errs field.ErrorList
	for i, m := range matchers {
		if _, err := routing.ParseMatcher(m); err != nil {
			errs = append(errs, field.Invalid(path.Index(i), m, fmt.Sprintf("not an Alertmanager matcher: %v", err)))
		}
	}
	return errs
}

// labelName is Prometheus's classic label name syntax, which kube-state-metrics and cAdvisor use.
var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

func validateTargetOverride(path *field.Path, t *v1beta1.TargetOverride) field.ErrorList {
	if t == nil {
		return nil
	}
	var errs field.ErrorList
	for _, l := range []struct{ name, value string }{
		{"nameLabel", t.NameLabel}, {"containerLabel", t.ContainerLabel}, {"namespaceLabel", t.NamespaceLabel},
	} {
		if l.value != "" && !labelName.MatchString(l.value) {
			errs = append(errs, field.Invalid(path.Child(l.name), l.value, "not a valid Prometheus label name"))
		}
	}
	return errs
}

// validateAction checks that exactly one member of the union is set and that its bounds hold.
func validateAction(path *field.Path, a v1beta1.Action) field.ErrorList {
	set := routing.ActionCount(a)
	switch {
	case set == 0:
		return field.ErrorList{field.Required(path, "one of increaseMemory, increaseCPU, scaleUp or rollbackImage must be set")}
	case set > 1:
		return field.ErrorList{field.Invalid(path, a.Type(), "only one of increaseMemory, increaseCPU, scaleUp or rollbackImage may be set")}
	}
	var errs field.ErrorList
	if m := a.IncreaseMemory; m != nil {
		p := path.Child("increaseMemory")
		errs = append(errs, validatePercent(p.Child("percent"), m.Percent)...)
		errs = append(errs, validateBytes(p.Child("minIncrease"), m.MinIncrease)...)
		errs = append(errs, validateBytes(p.Child("roundTo"), m.RoundTo)...)
		errs = append(errs, validateBytes(p.Child("max"), m.Max)...)
		errs = append(errs, validateMemoryMax(p.Child("max"), m)...)
	}
	if c := a.IncreaseCPU; c != nil {
		p := path.Child("increaseCPU")
		errs = append(errs, validatePercent(p.Child("percent"), c.Percent)...)
		errs = append(errs, validateCPUMax(p.Child("max"), c.Max)...)
	}
	if s := a.ScaleUp; s != nil {
		p := path.Child("scaleUp")
		errs = append(errs, validatePercent(p.Child("percent"), s.Percent)...)
		if s.MaxReplicas != nil && *s.MaxReplicas < 1 {
			errs = append(errs, field.Invalid(p.Child("maxReplicas"), *s.MaxReplicas, "must be at least 1"))
		}
	}
	if r := a.RollbackImage; r != nil {
		if r.MaxRevisions != nil && (*r.MaxRevisions < 1 || *r.MaxRevisions > 100) {
			errs = append(errs, field.Invalid(path.Child("rollbackImage", "maxRevisions"), *r.MaxRevisions, "must be between 1 and 100"))
		}
	}
	return errs
}

func validatePercent(path *field.Path, percent *int32) field.ErrorList {
	if percent != nil && (*percent < 1 || *percent > 1000) {
		return field.ErrorList{field.Invalid(path, *percent, "must be between 1 and 1000")}
	}
	return nil
}

// validateBytes rejects memory quantities that are not a positive whole number of bytes: "512m"
// is half a byte, almost always a typo for "512Mi".
func validateBytes(path *field.Path, q *resource.Quantity) field.ErrorList {
	if q == nil {
		return nil
	}
	if q.Sign() <= 0 {
		return field.ErrorList{field.Invalid(path, q.String(), "must be positive")}
	}
	if q.MilliValue()%1000 != 0 {
		return field.ErrorList{field.Invalid(path, q.String(), "is below one byte's unit (did you mean Mi rather than m?)")}
	}
	return nil
}

// validateMemoryMax rejects a cap smaller than the step values are rounded to: no limit could
// ever be proposed under it.
func validateMemoryMax(path *field.Path, m *v1beta1.IncreaseMemoryAction) field.ErrorList {
	if m.Max == nil || m.RoundTo == nil || m.Max.Sign() <= 0 || m.RoundTo.Sign() <= 0 {
		return nil
	}
	if m.Max.Cmp(*m.RoundTo) < 0 {
		return field.ErrorList{field.Invalid(path, m.Max.String(),
			fmt.Sprintf("must not be below roundTo (%s), the unit new limits are rounded to", m.RoundTo.String()))}
	}
	return nil
}

// validateCPUMax rejects a CPU cap below one millicore, the unit CPU values are rounded to.
func validateCPUMax(path *field.Path, q *resource.Quantity) field.ErrorList {
	if q == nil {
		return nil
	}
	if q.MilliValue() < 1 {
		return field.ErrorList{field.Invalid(path, q.String(), "must be at least 1m, the unit CPU limits are rounded to")}
	}
	return nil
}

func validateStrategy(path *field.Path, s v1beta1.Strategy) field.ErrorList {
	switch s {
	case v1beta1.StrategyGitOps, v1beta1.StrategyDirect, v1beta1.StrategyDryRun, "":
		return nil
	}
	return field.ErrorList{field.NotSupported(path, s, []string{
		string(v1beta1.StrategyGitOps), string(v1beta1.StrategyDirect), string(v1beta1.StrategyDryRun)})}
}

func (v *RemediationPolicyValidator) validateGit(spec *field.Path, strategy v1beta1.Strategy, git *v1beta1.GitSpec) field.ErrorList {
	path := spec.Child("git")
	if git == nil {
		if strategy == v1beta1.StrategyGitOps {
			return field.ErrorList{field.Required(path, "the GitOps strategy needs a Git repository")}
		}
		return nil
	}
	var errs field.ErrorList
	if git.Path != "" {
		// A path names a file in a repository; without spec.git.path the repository may be
		// discovered from the Flux or Argo CD object that applies the target.
		errs = append(errs, requireString(path.Child("repository"), git.Repository)...)
	}
	errs = append(errs, requireString(path.Child("secretRef", "name"), git.SecretRef.Name)...)
	switch git.Provider {
	case "", v1beta1.GitProviderGitHub:
		if git.Repository != "" && strings.Count(git.Repository, "/") != 1 {
			errs = append(errs, field.Invalid(path.Child("repository"), git.Repository,
				"a GitHub repository is owner/name; nested groups (group/sub/project) are for provider gitlab"))
		}
	case v1beta1.GitProviderGitLab:
	default:
		errs = append(errs, field.NotSupported(path.Child("provider"), git.Provider,
			[]string{string(v1beta1.GitProviderGitHub), string(v1beta1.GitProviderGitLab)}))
	}
	if git.Path != "" {
		// Checked, never parsed as a Go template: the controller substitutes the placeholders.
		if err := manifest.ValidatePathTemplate(git.Path); err != nil {
			errs = append(errs, field.Invalid(path.Child("path"), git.Path, err.Error()))
		}
	}
	if v.Git != nil {
		if _, err := v.Git.CheckBaseURL(git.EffectiveBaseURL()); err != nil {
			errs = append(errs, field.Invalid(path.Child("baseURL"), git.BaseURL, err.Error()))
		}
	} else if _, _, err := gitaccess.ParseBaseURL(git.EffectiveBaseURL()); err != nil {
		errs = append(errs, field.Invalid(path.Child("baseURL"), git.BaseURL, err.Error()))
	}
	return errs
}

func validateSafety(path *field.Path, s v1beta1.SafetySpec) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, nonNegative(path.Child("cooldown"), s.Cooldown)...)
	errs = append(errs, positive(path.Child("budgetWindow"), s.BudgetWindow)...)
	errs = append(errs, nonNegative(path.Child("vetoPeriod"), s.VetoPeriod)...)
	for _, b := range []struct {
		name  string
		value *int32
	}{{"maxConcurrent", s.MaxConcurrent}, {"maxPerHour", s.MaxPerHour}, {"maxPerTarget", s.MaxPerTarget}} {
		if b.value != nil && *b.value < 1 {
			errs = append(errs, field.Invalid(path.Child(b.name), *b.value, "must be at least 1"))
		}
	}
	return errs
}

func validateVerify(path *field.Path, v v1beta1.VerifySpec) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, positive(path.Child("window"), v.Window)...)
	errs = append(errs, positive(path.Child("applyTimeout"), v.ApplyTimeout)...)
	return errs
}

func (v *RemediationPolicyValidator) validateNamespaceSelector(path *field.Path, namespace string, sel *metav1.LabelSelector) field.ErrorList {
	if sel == nil {
		return nil
	}
	if namespace != v.OperatorNamespace {
		return field.ErrorList{field.Forbidden(path, fmt.Sprintf(
			"only a policy in the operator's namespace %q may act on other namespaces; this policy acts on its own namespace %q only",
			v.OperatorNamespace, namespace))}
	}
	if _, err := routing.CompileSelector(sel); err != nil {
		return field.ErrorList{field.Invalid(path, sel.String(), err.Error())}
	}
	return nil
}

func requireString(path *field.Path, s string) field.ErrorList {
	if s == "" {
		return field.ErrorList{field.Required(path, "")}
	}
	return nil
}

func nonNegative(path *field.Path, d *metav1.Duration) field.ErrorList {
	if d != nil && d.Duration < 0 {
		return field.ErrorList{field.Invalid(path, d.Duration.String(), "must not be negative")}
	}
	return nil
}

func positive(path *field.Path, d *metav1.Duration) field.ErrorList {
	if d != nil && d.Duration <= time.Duration(0) {
		return field.ErrorList{field.Invalid(path, d.Duration.String(), "must be positive")}
	}
	return nil
}
