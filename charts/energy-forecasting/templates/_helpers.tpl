{{/* Name of the chart, overridable. */}}
{{- define "ef.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-scoped base name of every object. */}}
{{- define "ef.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Name of one component's objects: (dict "root" $ "component" "api") */}}
{{- define "ef.componentName" -}}
{{- printf "%s-%s" (include "ef.fullname" .root | trunc 52 | trimSuffix "-") .component -}}
{{- end -}}

{{- define "ef.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels of one component. */}}
{{- define "ef.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ef.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Common labels of one component. */}}
{{- define "ef.labels" -}}
helm.sh/chart: {{ include "ef.chart" .root }}
{{ include "ef.selectorLabels" . }}
app.kubernetes.io/version: {{ include "ef.imageTag" .root | quote }}
app.kubernetes.io/part-of: energy-forecasting
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- end -}}

{{- define "ef.imageTag" -}}
{{- default .Chart.AppVersion .Values.image.tag -}}
{{- end -}}

{{/* repository:tag, or repository@digest when a digest is given. */}}
{{- define "ef.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (include "ef.imageTag" .) -}}
{{- end -}}
{{- end -}}

{{/* Kubernetes service account name of one component. */}}
{{- define "ef.serviceAccountName" -}}
{{- $c := index .root.Values .component -}}
{{- if $c.serviceAccount.create -}}
{{- default (include "ef.componentName" .) $c.serviceAccount.name -}}
{{- else -}}
{{- default "default" $c.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The EF_* settings of one component: shared config, the component's own, then fixed values. */}}
{{- define "ef.componentConfig" -}}
{{- $c := index .root.Values .component -}}
{{- $fixed := dict "HOME" "/tmp" "EF_DATA_DIR" "/tmp/energy-forecasting" -}}
{{- if eq .component "api" -}}
{{- $_ := set $fixed "EF_API_HOST" "0.0.0.0" -}}
{{- $_ := set $fixed "EF_API_PORT" (toString $c.port) -}}
{{- else -}}
{{- $_ := set $fixed "EF_DASHBOARD_HOST" "0.0.0.0" -}}
{{- $_ := set $fixed "EF_DASHBOARD_PORT" (toString $c.port) -}}
{{- $api := dict "root" .root "component" "api" -}}
{{- $_ := set $fixed "EF_API_URL" (printf "http://%s:%v" (include "ef.componentName" $api) .root.Values.api.service.port) -}}
{{- end -}}
{{- $merged := merge (deepCopy $c.config) (deepCopy .root.Values.config) -}}
{{- $all := merge $fixed $merged -}}
{{- if ne .component "api" -}}
{{- $_ := set $all "EF_API_URL" (default $fixed.EF_API_URL (index $merged "EF_API_URL")) -}}
{{- end -}}
{{- toYaml $all -}}
{{- end -}}
