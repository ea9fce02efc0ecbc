# The forecasts bucket: feature store, forecast and monitoring runs, latest pointers, MLflow artifacts.
resource "google_storage_bucket" "forecasts" {
  name                        = var.bucket_name
  location                    = var.region
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false
  labels                      = local.labels

  # Pointers (latest.json) are moved by compare-and-swap on their generation; versioning keeps the
  # previous generations for rollback and audit.
  versioning {
    enabled = true
  }

  logging {
    log_bucket        = google_storage_bucket.access_logs.name
    log_object_prefix = "forecasts/"
  }

  # Old runs: forecasts, monitoring tables and feature snapshots older than the retention.
  lifecycle_rule {
    condition {
      age = var.run_retention_days
      matches_prefix = [
        "${local.object_prefix}forecasts/runs/",
        "${local.object_prefix}monitoring/runs/",
      ]
    }
    action {
      type = "Delete"
    }
  }
  lifecycle_rule {
    condition {
      age            = var.run_retention_days
      matches_prefix = ["${local.object_prefix}features/"]
      matches_suffix = [".parquet", ".manifest.json"]
    }
    action {
      type = "Delete"
    }
  }
  # Replaced versions (old pointers, deleted runs) are kept for a while, then removed.
  lifecycle_rule {
    condition {
      days_since_noncurrent_time = var.noncurrent_version_days
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }
  lifecycle_rule {
    condition {
      num_newer_versions = 10
      with_state         = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }
}

# Access logs of the forecasts bucket.
resource "google_storage_bucket" "access_logs" {
  # checkov:skip=CKV_GCP_62: this is the access-log sink itself; logging it into itself (or into yet another bucket) only moves the finding one bucket further.
  name                        = "${var.bucket_name}-logs"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false
  labels                      = local.labels

  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      age = 90
    }
    action {
      type = "Delete"
    }
  }
}

# GCS writes its access logs with this group's identity.
resource "google_storage_bucket_iam_member" "access_logs_writer" {
  bucket = google_storage_bucket.access_logs.name
  role   = "roles/storage.objectCreator"
  member = "group:cloud-storage-analytics@google.com"
}
