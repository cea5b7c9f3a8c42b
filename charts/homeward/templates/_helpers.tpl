{{- define "homeward.labels" -}}
app.kubernetes.io/name: homeward
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "homeward.selectorLabels" -}}
app.kubernetes.io/name: homeward
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{- define "homeward.fullname" -}}
{{- printf "%s-homeward" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
