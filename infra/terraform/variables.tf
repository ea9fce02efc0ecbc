variable "project_id" {
  description = "GCP project that holds every resource."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a GCP project id (6-30 chars, lowercase letters, digits, hyphens)."
  }
}

variable "region" {
  description = "Region of the cluster, the bucket and the Artifact Registry repository."
  type        = string
  default     = "europe-west1"
}

variable "environment" {
  description = "Environment label (dev, staging, prod)."
  type        = string
  default     = "prod"
  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "environment must be one of dev, staging, prod."
  }
}

variable "cluster_name" {
  description = "Name of the GKE cluster."
  type        = string
  default     = "energy-forecasting"
}

variable "release_channel" {
  description = "GKE release channel (keeps the control plane and nodes patched)."
  type        = string
  default     = "REGULAR"
  validation {
    condition     = contains(["RAPID", "REGULAR", "STABLE"], var.release_channel)
    error_message = "release_channel must be RAPID, REGULAR or STABLE."
  }
}

variable "master_authorized_cidrs" {
  description = "CIDR blocks allowed to reach the cluster's control plane (CI runners, office VPN)."
  type = list(object({
    cidr_block   = string
    display_name = string
  }))
  default = []
}

variable "master_ipv4_cidr_block" {
  description = "/28 range of the private control plane."
  type        = string
  default     = "172.16.0.0/28"
}

variable "subnet_cidr" {
  description = "Primary range of the cluster subnet (nodes)."
  type        = string
  default     = "10.10.0.0/20"
}

variable "pods_cidr" {
  description = "Secondary range for pods."
  type        = string
  default     = "10.20.0.0/16"
}

variable "services_cidr" {
  description = "Secondary range for services."
  type        = string
  default     = "10.30.0.0/20"
}

variable "node_machine_type" {
  description = "Machine type of the general node pool (pipelines steps, API, dashboard, Kubeflow)."
  type        = string
  default     = "e2-standard-4"
}

variable "node_min_count" {
  description = "Minimum nodes per zone of the node pool."
  type        = number
  default     = 1
}

variable "node_max_count" {
  description = "Maximum nodes per zone of the node pool."
  type        = number
  default     = 3
  validation {
    condition     = var.node_max_count >= 1 && var.node_max_count <= 20
    error_message = "node_max_count must be between 1 and 20."
  }
}

variable "bucket_name" {
  description = "The forecasts bucket (EF_BUCKET): feature store, forecasts, monitoring, MLflow artifacts."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be a valid GCS bucket name (3-63 chars)."
  }
}

variable "object_prefix" {
  description = "EF_PREFIX: object-name prefix inside the bucket, without slashes at the ends (may be empty)."
  type        = string
  default     = ""
}

variable "run_retention_days" {
  description = "Age in days after which forecast runs, monitoring runs and feature snapshots are deleted."
  type        = number
  default     = 180
  validation {
    condition     = var.run_retention_days >= 7
    error_message = "run_retention_days must be at least 7 (monitoring reads past forecasts)."
  }
}

variable "noncurrent_version_days" {
  description = "Days a replaced (noncurrent) object version is kept, e.g. old latest.json pointers."
  type        = number
  default     = 30
}

variable "artifact_repository_id" {
  description = "Artifact Registry Docker repository of the project image."
  type        = string
  default     = "energy-forecasting"
}

variable "kubeflow_namespace" {
  description = "Namespace of Kubeflow Pipelines, Katib and MLflow (KFP standalone uses kubeflow)."
  type        = string
  default     = "kubeflow"
}

variable "app_namespace" {
  description = "Namespace of the Helm release (API and dashboard)."
  type        = string
  default     = "energy-forecasting"
}

variable "pipelines_ksa" {
  description = "Kubernetes SA of pipeline and Katib trial pods (EF_K8S_SERVICE_ACCOUNT)."
  type        = string
  default     = "energy-forecasting-pipelines"
}

variable "mlflow_ksa" {
  description = "Kubernetes SA of the MLflow server."
  type        = string
  default     = "mlflow"
}

variable "api_ksa" {
  description = "Kubernetes SA of the API (Helm: <release>-energy-forecasting-api)."
  type        = string
  default     = "energy-forecasting-api"
}

variable "dashboard_ksa" {
  description = "Kubernetes SA of the dashboard (Helm: <release>-energy-forecasting-dashboard)."
  type        = string
  default     = "energy-forecasting-dashboard"
}

variable "github_owner" {
  description = "Owner (user or organisation) of the GitHub repository whose workflows may deploy."
  type        = string
  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9-]{0,38}$", var.github_owner))
    error_message = "github_owner must be a GitHub user or organisation name."
  }
}

variable "github_repository" {
  description = "Name of that GitHub repository (without the owner); Workload Identity Federation trusts only it."
  type        = string
  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must be a repository name such as energy-forecasting."
  }
}

variable "github_environment" {
  description = "GitHub environment of the CD job (protected: main and release tags only)."
  type        = string
  default     = "production"
}

variable "labels" {
  description = "Extra labels on every labelled resource."
  type        = map(string)
  default     = {}
}
