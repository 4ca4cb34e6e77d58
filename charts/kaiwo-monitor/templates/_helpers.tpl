{{- define "kaiwo-monitor.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}{{ .Release.Name | trunc 63 | trimSuffix "-" }}{{- else -}}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- end -}}
{{- define "kaiwo-monitor.labels" -}}
app.kubernetes.io/name: kaiwo-monitor
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}
{{- define "kaiwo-monitor.selector" -}}
app.kubernetes.io/name: kaiwo-monitor
app.kubernetes.io/instance: {{ .Release.Name }}
control-plane: kaiwo-monitor
{{- end -}}
