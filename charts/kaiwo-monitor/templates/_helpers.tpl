{{/* Chart name, or nameOverride. */}}
{{- define "kaiwo-monitor.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Prefix of every object name: fullnameOverride, else <release>-<name> (just <release> when it contains the name). */}}
{{- define "kaiwo-monitor.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "kaiwo-monitor.name" . -}}
{{- if contains $name .Release.Name -}}{{ .Release.Name | trunc 63 | trimSuffix "-" }}{{- else -}}{{ printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- end -}}
{{- end -}}

{{/* Labels on every object, pods included. */}}
{{- define "kaiwo-monitor.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "kaiwo-monitor.selector" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: kaiwo-monitor
{{- end -}}

{{/* Pod labels: the selector (always wins), podLabels, then the common labels. */}}
{{- define "kaiwo-monitor.podLabels" -}}
{{- toYaml (merge (include "kaiwo-monitor.selector" . | fromYaml) (deepCopy .Values.podLabels) (include "kaiwo-monitor.labels" . | fromYaml)) -}}
{{- end -}}

{{/* Pod selector (immutable on the Deployment: do not change between upgrades). */}}
{{- define "kaiwo-monitor.selector" -}}
app.kubernetes.io/name: {{ include "kaiwo-monitor.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
control-plane: kaiwo-monitor
{{- end -}}

{{- define "kaiwo-monitor.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "kaiwo-monitor.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
Port of a bind address like the operator's flags take (":8443", "0.0.0.0:8443", "[::]:8443"); "" when the
address is "0" (disabled). `--set x=0` arrives as a number, so the value is turned into a string first.
*/}}
{{- define "kaiwo-monitor.port" -}}
{{- $addr := toString . -}}
{{- if ne $addr "0" -}}
{{- $port := regexReplaceAll "^.*:" $addr "" -}}
{{- if not (regexMatch "^[0-9]{1,5}$" $port) -}}
{{- fail (printf "bind address %q has no port: use \":<port>\", \"<host>:<port>\" or \"0\" to disable" $addr) -}}
{{- end -}}
{{- $port -}}
{{- end -}}
{{- end -}}

{{- define "kaiwo-monitor.metricsPortName" -}}
{{- if .Values.metrics.secure }}https-metrics{{ else }}http-metrics{{ end -}}
{{- end -}}

{{/* Labels for Prometheus Operator objects: kube-prometheus-stack selects on release=<its release name>. */}}
{{- define "kaiwo-monitor.prometheusLabels" -}}
{{- with .Values.prometheusRelease }}release: {{ . | quote }}{{ end -}}
{{- end -}}
