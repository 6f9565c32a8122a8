{{/* The name of the chart's objects: the release's name, followed by "-globalsvc" unless it says globalsvc already. */}}
{{- define "globalsvc.fullname" -}}
{{- if contains "globalsvc" .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-globalsvc" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "globalsvc.selectorLabels" -}}
app.kubernetes.io/name: globalsvc
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "globalsvc.labels" -}}
{{ include "globalsvc.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/*
The values that are flags of `globalsvc run`, one per entry of OPTIONS in src/cli/options.ts: the
value clusterName is the flag --cluster-name. src/cli/helm-chart.test.ts checks this list against
OPTIONS and values.yaml.
*/}}
{{- define "globalsvc.flagValues" -}}
- clusterName
- kubeconfig
- context
- namespaces
- includeLocal
- gatewayProbe
- gatewayProbeAddresses
- remoteDiscovery
- remoteStaleAfter
- mcsApi
- source
- globalSuffix
- maxEndpointsPerSlice
- workers
- startWorkers
- batchPeriod
- retryInitial
- retryMax
- resyncPeriod
- compilersAboveObjects
- leaderElect
- leaderElectNamespace
- leaderElectLeaseName
- leaseDuration
- renewDeadline
- retryPeriod
- metricsAddr
- healthAddr
- logLevel
- burst
- prometheusUrl
- peerSecret
{{- end -}}

{{/* "true" when leader election is on, in any spelling the controller accepts; "" otherwise. */}}
{{- define "globalsvc.leaderElect" -}}
{{- if has (toString .Values.leaderElect) (list "true" "1" "yes") -}}true{{- end -}}
{{- end -}}

{{/* Where the Lease lives, and so the Role that allows it. */}}
{{- define "globalsvc.leaseNamespace" -}}
{{- .Values.leaderElectNamespace | default .Release.Namespace -}}
{{- end -}}

{{/* The container's arguments: --<flag>=<value> for every flag value that is set. */}}
{{- define "globalsvc.args" -}}
{{- if and (gt (int .Values.replicaCount) 1) (not (include "globalsvc.leaderElect" .)) -}}
{{- fail "replicaCount > 1 needs leaderElect=true: without it every replica writes" -}}
{{- end -}}
{{- $_ := required "clusterName is required: this cluster's name in the Links (linkerd multicluster link --cluster-name)" .Values.clusterName -}}
{{- range $key := include "globalsvc.flagValues" . | fromYamlArray }}
{{- $value := index $.Values $key }}
{{- if eq $key "leaderElectNamespace" }}{{ $value = include "globalsvc.leaseNamespace" $ }}{{ end }}
{{- if kindIs "slice" $value }}{{ $value = join "," $value }}{{ end }}
{{- if not (or (kindIs "invalid" $value) (eq (toString $value) "")) }}
- {{ printf "--%s=%v" (kebabcase $key) $value | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The port of a listen address such as ":9090" or "0.0.0.0:9090". */}}
{{- define "globalsvc.port" -}}
{{- regexFind "[0-9]+$" . | int -}}
{{- end -}}
