output "cluster_name" {
  description = "GKE cluster name (gcloud container clusters get-credentials)."
  value       = google_container_cluster.main.name
}

output "cluster_location" {
  description = "GKE cluster location (region)."
  value       = google_container_cluster.main.location
}

output "workload_pool" {
  description = "Workload Identity pool of the cluster."
  value       = local.workload_pool
}

output "bucket" {
  description = "EF_BUCKET."
  value       = google_storage_bucket.forecasts.name
}

output "image" {
  description = "EF_IMAGE / Helm image.repository: the project image in Artifact Registry."
  value       = "${google_artifact_registry_repository.images.location}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.images.repository_id}/energy-forecasting"
}

output "pipelines_gsa_email" {
  description = "Annotate the pipelines KSA with this (infra/kubeflow/platform)."
  value       = google_service_account.pipelines.email
}

output "mlflow_gsa_email" {
  description = "Annotate the MLflow KSA with this (infra/kubeflow/platform)."
  value       = google_service_account.mlflow.email
}

output "api_gsa_email" {
  description = "Helm api.serviceAccount.gcpServiceAccount."
  value       = google_service_account.api.email
}

output "dashboard_gsa_email" {
  description = "Helm dashboard.serviceAccount.gcpServiceAccount."
  value       = google_service_account.dashboard.email
}

output "deployer_gsa_email" {
  description = "GitHub variable GCP_DEPLOYER_SA (cd.yml)."
  value       = google_service_account.deployer.email
}

output "github_workload_identity_provider" {
  description = "GitHub variable GCP_WIF_PROVIDER (cd.yml)."
  value       = google_iam_workload_identity_pool_provider.github.name
}

output "project_id" {
  description = "EF_GCP_PROJECT."
  value       = var.project_id
}
