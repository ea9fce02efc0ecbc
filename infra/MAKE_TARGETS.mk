# Deploy targets of energy-forecasting: `include infra/MAKE_TARGETS.mk` in the Makefile.
# Uses UV, RUN and setup from the Makefile. The offline checks (check-deploy) need no cloud; every
# other target talks to Google Cloud / the cluster (gcloud, terraform, docker with an engine).

TOOLS_BIN      ?= $(CURDIR)/.tools/bin
HELM           ?= $(TOOLS_BIN)/helm
KUBECTL        ?= $(TOOLS_BIN)/kubectl
TERRAFORM      ?= terraform
TF_DIR         ?= infra/terraform
TF_VARS        ?= environments/prod.tfvars
TF_STATE_BUCKET ?=
TF_STATE_PREFIX ?= energy-forecasting/prod
RELEASE        ?= energy-forecasting
APP_NAMESPACE  ?= energy-forecasting
KF_NAMESPACE   ?= kubeflow
KFP_PORT       ?= 8080
MLFLOW_PORT    ?= 5000
CRON           ?= 0 0 * * * *
GKE_OVERLAY    ?= build/kubeflow-gke
TF_OUT          = $(TERRAFORM) -chdir=$(TF_DIR) output -raw
# make image: the bases (auto = the official images if they can be pulled, else a Debian-made base and
# uv from PyPI), explicit base images, and the CA bundle mounted into the build (empty: none).
IMAGE_BASES    ?= auto
PYTHON_IMAGE   ?=
UV_IMAGE       ?=
CA_BUNDLE      ?= /etc/ssl/certs/ca-certificates.crt
IMAGE_TAG       = $$($(RUN) python -c 'from components.settings import Settings; print(Settings().image_tag)')

.PHONY: check-deploy image infra-init infra-plan infra-apply cluster-credentials cluster-up \
        pipeline-deploy deploy helm-test rollback model-rollback

check-deploy: setup ## offline checks of every deploy artifact (hadolint, helm, kubernetes-validate, kustomize, checkov, actionlint)
	$(RUN) pytest -q tests/deploy

image: setup ## build Dockerfile.base (podman/buildah), tagged Settings().image_uri, printed last (IMAGE_BASES=auto|official|debian)
	$(RUN) python -m devtools.image --bases "$(IMAGE_BASES)" --python-image "$(PYTHON_IMAGE)" \
	  --uv-image "$(UV_IMAGE)" --ca-bundle "$(CA_BUNDLE)"

infra-init: ## terraform init with the GCS state bucket (TF_STATE_BUCKET=...)
	@test -n "$(TF_STATE_BUCKET)" || { echo "set TF_STATE_BUCKET=<bucket holding the Terraform state>"; exit 2; }
	$(TERRAFORM) -chdir=$(TF_DIR) init -backend-config="bucket=$(TF_STATE_BUCKET)" -backend-config="prefix=$(TF_STATE_PREFIX)"

infra-plan: ## terraform plan with TF_VARS (relative to infra/terraform)
	$(TERRAFORM) -chdir=$(TF_DIR) plan -var-file=$(TF_VARS)

infra-apply: ## terraform apply: GKE, bucket, Artifact Registry, service accounts, WI, GitHub federation
	$(TERRAFORM) -chdir=$(TF_DIR) apply -var-file=$(TF_VARS)

cluster-credentials: ## kubectl context of the Terraform cluster
	gcloud container clusters get-credentials "$$($(TF_OUT) cluster_name)" \
	  --region "$$($(TF_OUT) cluster_location)" --project "$$($(TF_OUT) project_id)" --dns-endpoint

cluster-up: setup infra-apply cluster-credentials ## cloud + KFP 2.17.3 + Katib v0.19.0 + the platform (RBAC, settings, MLflow)
	$(KUBECTL) apply -k infra/kubeflow/kfp/cluster-scoped
	$(KUBECTL) wait --for condition=established --timeout=120s crd/applications.app.k8s.io
	$(KUBECTL) apply -k infra/kubeflow/kfp/install
	$(KUBECTL) apply --server-side -k infra/kubeflow/katib
	bash infra/scripts/gke-overlay.sh --out $(GKE_OVERLAY) \
	  --project "$$($(TF_OUT) project_id)" --bucket "$$($(TF_OUT) bucket)" \
	  --prefix "$${EF_PREFIX:-}" --image "$$($(TF_OUT) image)" --tag "$(IMAGE_TAG)" \
	  --pipelines-gsa "$$($(TF_OUT) pipelines_gsa_email)" --mlflow-gsa "$$($(TF_OUT) mlflow_gsa_email)"
	$(KUBECTL) apply -k $(GKE_OVERLAY)
	$(KUBECTL) --namespace $(KF_NAMESPACE) wait --for=condition=Available deployment --all --timeout=20m

pipeline-deploy: setup ## upload the pipeline version and (re)create the recurring run (through a port-forward)
	set -euo pipefail; \
	$(KUBECTL) --namespace $(KF_NAMESPACE) port-forward svc/ml-pipeline-ui $(KFP_PORT):80 >/dev/null 2>&1 & pf=$$!; \
	trap 'kill $$pf' EXIT; sleep 3; \
	export EF_IMAGE="$$($(TF_OUT) image)"; \
	$(RUN) python -m pipelines compile --output build/pipeline.yaml; \
	$(RUN) python -m pipelines upload --host http://127.0.0.1:$(KFP_PORT); \
	$(RUN) python -m pipelines schedule --host http://127.0.0.1:$(KFP_PORT) --cron "$(CRON)"

deploy: setup ## helm upgrade --install the API and dashboard with this version's image, then helm test
	$(HELM) upgrade --install $(RELEASE) charts/energy-forecasting \
	  --namespace $(APP_NAMESPACE) --create-namespace --rollback-on-failure --wait=watcher --timeout 10m \
	  --set-string image.repository="$$($(TF_OUT) image)" --set-string image.tag="$(IMAGE_TAG)" \
	  --set-string config.EF_BUCKET="$$($(TF_OUT) bucket)" \
	  --set-string config.EF_GCP_PROJECT="$$($(TF_OUT) project_id)" \
	  --set-string api.serviceAccount.gcpServiceAccount="$$($(TF_OUT) api_gsa_email)" \
	  --set-string dashboard.serviceAccount.gcpServiceAccount="$$($(TF_OUT) dashboard_gsa_email)"
	$(HELM) test $(RELEASE) --namespace $(APP_NAMESPACE) --logs --timeout 5m

helm-test: ## run the chart's helm test pod against the release
	$(HELM) test $(RELEASE) --namespace $(APP_NAMESPACE) --logs --timeout 5m

rollback: ## roll the API/dashboard back: REVISION=<n> (default: the previous one); see `helm history`
	$(HELM) history $(RELEASE) --namespace $(APP_NAMESPACE) --max 10
	$(HELM) rollback $(RELEASE) $(REVISION) --namespace $(APP_NAMESPACE) --wait=watcher --timeout 10m

model-rollback: setup ## point the MLflow alias `champion` back at MODEL_VERSION=<n> (through a port-forward)
	@test -n "$(MODEL_VERSION)" || { echo "set MODEL_VERSION=<registered model version>"; exit 2; }
	set -euo pipefail; \
	$(KUBECTL) --namespace $(KF_NAMESPACE) port-forward svc/mlflow $(MLFLOW_PORT):5000 >/dev/null 2>&1 & pf=$$!; \
	trap 'kill $$pf' EXIT; sleep 3; \
	EF_MLFLOW_TRACKING_URI=http://127.0.0.1:$(MLFLOW_PORT) $(RUN) python -c "import sys, mlflow; \
	from components.settings import Settings; s = Settings(); \
	client = mlflow.MlflowClient(s.tracking_uri); \
	client.set_registered_model_alias(s.model_name, 'champion', sys.argv[1]); \
	print(s.model_name, '@champion ->', client.get_model_version_by_alias(s.model_name, 'champion').version)" $(MODEL_VERSION)
