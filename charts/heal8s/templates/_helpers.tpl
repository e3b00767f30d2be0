{{/* The chart name, overridable. */}}
{{- define "heal8s.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The prefix of every object name: <release>-heal8s, or the release name when it already contains the chart name. */}}
{{- define "heal8s.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "heal8s.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "heal8s.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Labels that select the manager pods. */}}
{{- define "heal8s.selectorLabels" -}}
app.kubernetes.io/name: {{ include "heal8s.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
control-plane: controller-manager
{{- end }}

{{/* The manager's ServiceAccount. */}}
{{- define "heal8s.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (printf "%s-controller-manager" (include "heal8s.fullname" .)) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The operator namespace (policies there act cluster-wide; Secrets are read there only). */}}
{{- define "heal8s.operatorNamespace" -}}
{{- default .Release.Namespace .Values.operatorNamespace }}
{{- end }}

{{/* The manager image reference. */}}
{{- define "heal8s.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default (printf "v%s" .Chart.AppVersion) .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "heal8s.webhookServiceName" -}}
{{- printf "%s-webhook-service" (include "heal8s.fullname" .) }}
{{- end }}

{{- define "heal8s.metricsServiceName" -}}
{{- printf "%s-controller-manager-metrics-service" (include "heal8s.fullname" .) }}
{{- end }}

{{- define "heal8s.webhookCertSecretName" -}}
{{- if and .Values.webhook.existingCertSecret (not .Values.webhook.certManager.enabled) }}
{{- .Values.webhook.existingCertSecret }}
{{- else }}
{{- printf "%s-webhook-server-cert" (include "heal8s.fullname" .) }}
{{- end }}
{{- end }}

{{- define "heal8s.receiverTokenSecretName" -}}
{{- default (printf "%s-receiver-token" (include "heal8s.fullname" .)) .Values.receiver.token.existingSecret }}
{{- end }}

{{- define "heal8s.githubWebhookSecretName" -}}
{{- default (printf "%s-github-webhook" (include "heal8s.fullname" .)) .Values.github.webhookSecret.existingSecret }}
{{- end }}

{{- define "heal8s.githubWebhookEnabled" -}}
{{- if or .Values.github.webhookSecret.existingSecret .Values.github.webhookSecret.value }}true{{- end }}
{{- end }}

{{- define "heal8s.gitlabWebhookSecretName" -}}
{{- default (printf "%s-gitlab-webhook" (include "heal8s.fullname" .)) .Values.gitlab.webhookSecret.existingSecret }}
{{- end }}

{{- define "heal8s.gitlabWebhookEnabled" -}}
{{- if or .Values.gitlab.webhookSecret.existingSecret .Values.gitlab.webhookSecret.value }}true{{- end }}
{{- end }}

{{/* The cert-manager Certificate that serves the webhooks, as <namespace>/<name> for the CA injector. */}}
{{- define "heal8s.servingCertRef" -}}
{{- printf "%s/%s-serving-cert" .Release.Namespace (include "heal8s.fullname" .) }}
{{- end }}

{{/* Whether the receiver, GitHub's and GitLab's webhooks and the dashboard serve HTTPS from the chart's cert-manager Certificate. */}}
{{- define "heal8s.endpointsTLS" -}}
{{- if and .Values.endpointsTLS.enabled .Values.webhook.certManager.enabled }}true{{- end }}
{{- end }}

{{- define "heal8s.endpointsCertSecretName" -}}
{{- printf "%s-endpoints-tls" (include "heal8s.fullname" .) }}
{{- end }}

{{/* Whether the chart creates its self-signed cert-manager Issuer. */}}
{{- define "heal8s.selfSignedIssuer" -}}
{{- if and .Values.webhook.certManager.enabled (not .Values.webhook.certManager.issuerRef) (or .Values.webhook.enabled (include "heal8s.endpointsTLS" .)) }}true{{- end }}
{{- end }}
