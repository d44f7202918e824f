{{/* The autoscaler in use for the scorer: keda | hpa | off (mode auto picks KEDA when the cluster serves it). */}}
{{- define "credit-risk.autoscaler" -}}
{{- $mode := .Values.scorer.autoscaling.mode -}}
{{- if eq $mode "auto" -}}
{{- ternary "keda" "hpa" (.Capabilities.APIVersions.Has "keda.sh/v1alpha1/ScaledObject") -}}
{{- else -}}
{{- $mode -}}
{{- end -}}
{{- end -}}

{{/*
One component's ConfigMap, Deployment and Service: (dict "root" $ "component" "scorer" "c" .Values.scorer
"command" (list ...) "model" true "volumes" (dict "name" "mountPath" ...)).
*/}}
{{- define "credit-risk.workload" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
{{- $c := .c -}}
{{- $name := printf "%s-%s" (include "credit-risk.fullname" $root) .component -}}
{{- $port := $c.env.HTTP_PORT | int -}}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ $name }}-env
  labels:
    {{- include "credit-risk.labels" $root | nindent 4 }}
    {{- include "credit-risk.selector" (dict "root" $root "component" .component) | nindent 4 }}
data:
  {{- include "credit-risk.envData" (dict "root" $root "env" $c.env) | nindent 2 }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $name }}
  labels:
    {{- include "credit-risk.labels" $root | nindent 4 }}
    {{- include "credit-risk.selector" (dict "root" $root "component" .component) | nindent 4 }}
spec:
  {{- if not (and (eq .component "scorer") (ne (include "credit-risk.autoscaler" $root) "off")) }}
  replicas: {{ $c.replicas }}
  {{- end }}
  revisionHistoryLimit: 5
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}
  selector:
    matchLabels:
      {{- include "credit-risk.selector" (dict "root" $root "component" .component) | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "credit-risk.labels" $root | nindent 8 }}
        {{- include "credit-risk.selector" (dict "root" $root "component" .component) | nindent 8 }}
      annotations:
        checksum/env: {{ include "credit-risk.envData" (dict "root" $root "env" $c.env) | sha256sum }}
    spec:
      automountServiceAccountToken: false
      {{- with $v.images.pullSecrets }}
      imagePullSecrets: {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- include "credit-risk.podSecurity" $root | nindent 8 }}
      # Longer than preStop + SHUTDOWN_TIMEOUT (templates/checks.yaml refuses otherwise): the pod commits or
      # aborts its open transaction and leaves the consumer group before it is killed.
      terminationGracePeriodSeconds: {{ $c.terminationGracePeriodSeconds }}
      topologySpreadConstraints:
        - maxSkew: {{ $c.topologySpread.maxSkew }}
          topologyKey: {{ $c.topologySpread.topologyKey }}
          whenUnsatisfiable: {{ $c.topologySpread.whenUnsatisfiable }}
          labelSelector:
            matchLabels:
              {{- include "credit-risk.selector" (dict "root" $root "component" .component) | nindent 14 }}
      {{- if .model }}
      initContainers:
        # Downloads the initial bundle from the artifact store and checks model.onnx against its sha256.
        - name: fetch-model
          image: "{{ $v.retrain.image.repository }}:{{ $v.retrain.image.tag }}"
          imagePullPolicy: {{ $v.images.pullPolicy }}
          command: [python, -m, pipeline.stages.fetch_bundle]
          args: [--uri, {{ $v.models.initial.uri | quote }}, --sha256, {{ $v.models.initial.sha256 | quote }}, --out, {{ $c.env.MODEL_DIR | quote }}]
          securityContext:
            {{- include "credit-risk.containerSecurity" $root | nindent 12 }}
          resources:
            requests: {cpu: 100m, memory: 128Mi}
            limits: {cpu: 500m, memory: 256Mi}
          volumeMounts:
            - {name: models, mountPath: /app/models}
      {{- end }}
      containers:
        - name: {{ .component }}
          image: "{{ $c.image.repository }}:{{ $c.image.tag }}"
          imagePullPolicy: {{ $v.images.pullPolicy }}
          command: {{ toJson .command }}
          envFrom:
            - configMapRef: {name: {{ $name }}-env}
          {{- with include "credit-risk.secretEnv" (dict "root" $root "credentialsSecret" $c.credentialsSecret) }}
          env: {{- . | nindent 12 }}
          {{- end }}
          ports:
            - {name: http, containerPort: {{ $port }}, protocol: TCP}
          # Liveness: /health fails only when the process cannot recover (e.g. a dead Kafka client past
          # KAFKA_RECOVERY_DEADLINE). Readiness: /ready is 503 while starting, rebalancing or degraded.
          startupProbe:
            httpGet: {path: /health, port: http}
            periodSeconds: 5
            failureThreshold: 60
          livenessProbe:
            httpGet: {path: /health, port: http}
            periodSeconds: 10
            timeoutSeconds: 3
            failureThreshold: 3
          readinessProbe:
            httpGet: {path: /ready, port: http}
            periodSeconds: 5
            timeoutSeconds: 3
            failureThreshold: 2
          {{- if gt (int $c.preStopSeconds) 0 }}
          lifecycle:
            preStop:
              exec: {command: [sleep, {{ $c.preStopSeconds | quote }}]}
          {{- end }}
          resources: {{- toYaml $c.resources | nindent 12 }}
          securityContext:
            {{- include "credit-risk.containerSecurity" $root | nindent 12 }}
          volumeMounts:
            {{- range $vol, $path := .volumes }}
            - {name: {{ $vol }}, mountPath: {{ $path }}}
            {{- end }}
            {{- include "credit-risk.tlsMounts" $root | nindent 12 }}
      volumes:
        {{- range $vol, $path := .volumes }}
        - {name: {{ $vol }}, emptyDir: {}}
        {{- end }}
        {{- include "credit-risk.tlsVolumes" $root | nindent 8 }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $name }}
  labels:
    {{- include "credit-risk.labels" $root | nindent 4 }}
    {{- include "credit-risk.selector" (dict "root" $root "component" .component) | nindent 4 }}
spec:
  selector:
    {{- include "credit-risk.selector" (dict "root" $root "component" .component) | nindent 4 }}
  ports:
    - {name: http, port: {{ $port }}, targetPort: http, protocol: TCP}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ $name }}
  labels:
    {{- include "credit-risk.labels" $root | nindent 4 }}
spec:
  {{- toYaml $c.podDisruptionBudget | nindent 2 }}
  selector:
    matchLabels:
      {{- include "credit-risk.selector" (dict "root" $root "component" .component) | nindent 6 }}
{{- end -}}
