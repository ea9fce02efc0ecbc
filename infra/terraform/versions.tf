terraform {
  required_version = ">= 1.6.0, < 2.0.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.40"
    }
  }

  # State lives in a GCS bucket created once by hand (see infra/README.md):
  #   terraform init -backend-config="bucket=<project>-tfstate" -backend-config="prefix=energy-forecasting"
  backend "gcs" {}
}

provider "google" {
  project = var.project_id
  region  = var.region
}
