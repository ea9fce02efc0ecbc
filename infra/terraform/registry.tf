# Docker repository of the one project image (Dockerfile.base); image = <location>-docker.pkg.dev/<project>/<repo>/energy-forecasting.
resource "google_artifact_registry_repository" "images" {
  # checkov:skip=CKV_GCP_84: the image holds only open-source code and no data; Google-managed encryption at rest is accepted. CMEK would add a Cloud KMS key ring, key rotation and service-agent grants - opt in by setting kms_key_name.
  repository_id = var.artifact_repository_id
  location      = var.region
  format        = "DOCKER"
  description   = "energy-forecasting project image (components, API, dashboard)"
  labels        = local.labels

  docker_config {
    immutable_tags = true
  }

  cleanup_policy_dry_run = false
  cleanup_policies {
    id     = "keep-recent-releases"
    action = "KEEP"
    most_recent_versions {
      keep_count = 20
    }
  }
  cleanup_policies {
    id     = "delete-untagged"
    action = "DELETE"
    condition {
      tag_state  = "UNTAGGED"
      older_than = "1209600s"
    }
  }

  depends_on = [google_project_service.apis]
}
