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

{{/* The operator's image: repository@digest when a digest is given (make images prints it), else repository:tag. */}}
{{- define "homeward.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}
