{{/* Names and labels. */}}
{{- define "credit-risk.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "credit-risk.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/part-of: credit-risk
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "scorer"). */}}
{{- define "credit-risk.selector" -}}
app.kubernetes.io/name: credit-risk
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* The applications topic's partitions, from infra/topics.json (files/topics.json links to it). */}}
{{- define "credit-risk.applicationsPartitions" -}}
{{- $spec := .Files.Get "files/topics.json" | fromJson -}}
{{- $role := get $spec.topics "applications" -}}
{{- if hasKey $role "partitions" }}{{ $role.partitions | int }}{{ else }}{{ $spec.defaults.partitions | int }}{{ end -}}
{{- end -}}

{{/* Seconds of a duration in the services' syntax (services/shared/config.ts parseDuration): 250ms, 30s, 5m, 1h, 7d, or bare milliseconds. */}}
{{- define "credit-risk.seconds" -}}
{{- $raw := toString .value | trim -}}
{{- if not (regexMatch "^[0-9]+(\\.[0-9]+)?(ms|s|m|h|d)?$" $raw) -}}
{{- fail (printf "%s: %q is not a duration like 500ms, 30s, 5m" .variable $raw) -}}
{{- end -}}
{{- $num := regexFind "^[0-9]+(\\.[0-9]+)?" $raw -}}
{{- $unit := trimPrefix $num $raw | default "ms" -}}
{{- $ms := dict "ms" 1.0 "s" 1000.0 "m" 60000.0 "h" 3600000.0 "d" 86400000.0 -}}
{{- divf (mulf (float64 $num) (get $ms $unit)) 1000.0 -}}
{{- end -}}

{{/* The variables of one component's ConfigMap: connection (from kafka/registry), topic names, common env, the component's env. */}}
{{- define "credit-risk.envData" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
{{- $data := dict "KAFKA_BROKERS" $v.kafka.brokers "SCHEMA_REGISTRY_URL" $v.registry.url -}}
{{- $_ := set $data "KAFKA_SSL" (ternary "true" "false" $v.kafka.tls.enabled) -}}
{{- $_ := set $data "KAFKA_SSL_CA_FILE" (ternary "/etc/credit-risk/kafka-tls/ca.crt" "" (and $v.kafka.tls.enabled (ne $v.kafka.tls.existingSecret ""))) -}}
{{- $mtls := and $v.kafka.tls.enabled $v.kafka.tls.clientCertificate -}}
{{- $_ := set $data "KAFKA_SSL_CERT_FILE" (ternary "/etc/credit-risk/kafka-tls/tls.crt" "" $mtls) -}}
{{- $_ := set $data "KAFKA_SSL_KEY_FILE" (ternary "/etc/credit-risk/kafka-tls/tls.key" "" $mtls) -}}
{{- $_ := set $data "KAFKA_SASL_MECHANISM" $v.kafka.sasl.mechanism -}}
{{- /* The Kafka client's blocking calls share libuv's pool (README: UV_THREADPOOL_SIZE); values env may override. */ -}}
{{- $_ := set $data "UV_THREADPOOL_SIZE" "16" -}}
{{- $_ := set $data "SCHEMA_REGISTRY_CA_FILE" (ternary "/etc/credit-risk/registry-tls/ca.crt" "" (ne $v.registry.caSecret "")) -}}
{{- $spec := $root.Files.Get "files/topics.json" | fromJson -}}
{{- range $role, $t := $spec.topics -}}
{{- $_ := set $data $t.env (get $v.topicNames $role | default "") -}}
{{- end -}}
{{- range $k, $val := $v.env }}{{ $_ := set $data $k (toString $val) }}{{ end -}}
{{- range $k, $val := .env }}{{ $_ := set $data $k (toString $val) }}{{ end -}}
{{- toYaml $data -}}
{{- end -}}

{{/* Variables from Secrets: the component's SASL principal, the key passphrase, the registry's credentials. */}}
{{- define "credit-risk.secretEnv" -}}
{{- $v := .root.Values -}}
{{- if $v.kafka.sasl.mechanism }}
- name: KAFKA_SASL_USERNAME
  valueFrom: {secretKeyRef: {name: {{ .credentialsSecret | quote }}, key: username}}
- name: KAFKA_SASL_PASSWORD
  valueFrom: {secretKeyRef: {name: {{ .credentialsSecret | quote }}, key: password}}
{{- end }}
{{- if and $v.kafka.tls.enabled $v.kafka.tls.keyPasswordKey }}
- name: KAFKA_SSL_KEY_PASSWORD
  valueFrom: {secretKeyRef: {name: {{ $v.kafka.tls.existingSecret | quote }}, key: {{ $v.kafka.tls.keyPasswordKey | quote }}}}
{{- end }}
{{- if $v.registry.existingSecret }}
- name: SCHEMA_REGISTRY_USERNAME
  valueFrom: {secretKeyRef: {name: {{ $v.registry.existingSecret | quote }}, key: username}}
- name: SCHEMA_REGISTRY_PASSWORD
  valueFrom: {secretKeyRef: {name: {{ $v.registry.existingSecret | quote }}, key: password}}
{{- end }}
{{- end -}}

{{/* Volumes and mounts of the TLS material (Secrets mounted read-only). */}}
{{- define "credit-risk.tlsVolumes" -}}
{{- $v := .Values -}}
{{- if and $v.kafka.tls.enabled $v.kafka.tls.existingSecret }}
- name: kafka-tls
  secret: {secretName: {{ $v.kafka.tls.existingSecret | quote }}, defaultMode: 0440}
{{- end }}
{{- if $v.registry.caSecret }}
- name: registry-tls
  secret: {secretName: {{ $v.registry.caSecret | quote }}, defaultMode: 0440}
{{- end }}
{{- end -}}

{{- define "credit-risk.tlsMounts" -}}
{{- $v := .Values -}}
{{- if and $v.kafka.tls.enabled $v.kafka.tls.existingSecret }}
- {name: kafka-tls, mountPath: /etc/credit-risk/kafka-tls, readOnly: true}
{{- end }}
{{- if $v.registry.caSecret }}
- {name: registry-tls, mountPath: /etc/credit-risk/registry-tls, readOnly: true}
{{- end }}
{{- end -}}

{{- define "credit-risk.podSecurity" -}}
runAsNonRoot: true
runAsUser: 1000
runAsGroup: 1000
fsGroup: 1000
seccompProfile: {type: RuntimeDefault}
{{- end -}}

{{- define "credit-risk.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities: {drop: [ALL]}
{{- end -}}
