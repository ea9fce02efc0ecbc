# Least-privilege Google service accounts, one per workload, bound to Kubernetes SAs with Workload Identity.

resource "google_service_account" "nodes" {
  account_id   = "ef-gke-nodes"
  display_name = "energy-forecasting GKE nodes (logging, monitoring, image pulls only)"
  depends_on   = [google_project_service.apis]
}

resource "google_project_iam_member" "nodes" {
  for_each = toset([
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
    "roles/monitoring.viewer",
    "roles/stackdriver.resourceMetadata.writer",
  ])
  project = var.project_id
  role    = each.value
  member  = google_service_account.nodes.member
}

resource "google_artifact_registry_repository_iam_member" "nodes_pull" {
  location   = google_artifact_registry_repository.images.location
  repository = google_artifact_registry_repository.images.name
  role       = "roles/artifactregistry.reader"
  member     = google_service_account.nodes.member
}

# Pipelines (KFP step pods and Katib trials): read and write every object of the bucket.
resource "google_service_account" "pipelines" {
  account_id   = "ef-pipelines"
  display_name = "energy-forecasting pipelines (object admin on the forecasts bucket)"
  depends_on   = [google_project_service.apis]
}

resource "google_storage_bucket_iam_member" "pipelines_objects" {
  bucket = google_storage_bucket.forecasts.name
  role   = "roles/storage.objectAdmin"
  member = google_service_account.pipelines.member
}

# MLflow server: writes model artifacts under <prefix>mlflow/ only (IAM condition).
resource "google_service_account" "mlflow" {
  account_id   = "ef-mlflow"
  display_name = "energy-forecasting MLflow server (objects under mlflow/)"
  depends_on   = [google_project_service.apis]
}

resource "google_storage_bucket_iam_member" "mlflow_objects" {
  bucket = google_storage_bucket.forecasts.name
  role   = "roles/storage.objectAdmin"
  member = google_service_account.mlflow.member
  condition {
    title       = "mlflow-artifacts-only"
    description = "Only the MLflow artifact root of the bucket."
    expression  = "resource.name.startsWith(\"projects/_/buckets/${google_storage_bucket.forecasts.name}/objects/${local.object_prefix}mlflow/\")"
  }
}

resource "google_storage_bucket_iam_member" "mlflow_list" {
  bucket = google_storage_bucket.forecasts.name
  role   = "roles/storage.legacyBucketReader"
  member = google_service_account.mlflow.member
}

# API and dashboard: read-only access to the bucket.
resource "google_service_account" "api" {
  account_id   = "ef-api"
  display_name = "energy-forecasting API (object viewer)"
  depends_on   = [google_project_service.apis]
}

resource "google_service_account" "dashboard" {
  account_id   = "ef-dashboard"
  display_name = "energy-forecasting dashboard (object viewer)"
  depends_on   = [google_project_service.apis]
}

resource "google_storage_bucket_iam_member" "api_objects" {
  bucket = google_storage_bucket.forecasts.name
  role   = "roles/storage.objectViewer"
  member = google_service_account.api.member
}

resource "google_storage_bucket_iam_member" "dashboard_objects" {
  bucket = google_storage_bucket.forecasts.name
  role   = "roles/storage.objectViewer"
  member = google_service_account.dashboard.member
}

# Workload Identity: <namespace>/<KSA> may act as the GSA, and nothing else may.
locals {
  workload_identity = {
    pipelines = { gsa = google_service_account.pipelines.name, namespace = var.kubeflow_namespace, ksa = var.pipelines_ksa }
    mlflow    = { gsa = google_service_account.mlflow.name, namespace = var.kubeflow_namespace, ksa = var.mlflow_ksa }
    api       = { gsa = google_service_account.api.name, namespace = var.app_namespace, ksa = var.api_ksa }
    dashboard = { gsa = google_service_account.dashboard.name, namespace = var.app_namespace, ksa = var.dashboard_ksa }
  }
}

resource "google_service_account_iam_member" "workload_identity" {
  for_each           = local.workload_identity
  service_account_id = each.value.gsa
  role               = "roles/iam.workloadIdentityUser"
  member             = "serviceAccount:${local.workload_pool}[${each.value.namespace}/${each.value.ksa}]"
  depends_on         = [google_container_cluster.main]
}
