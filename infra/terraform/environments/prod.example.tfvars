# Example of one environment. Copy to prod.tfvars (git-ignored by infra/.gitignore) and fill in; then:
#   terraform -chdir=infra/terraform init -backend-config="bucket=<project>-tfstate" -backend-config="prefix=energy-forecasting/prod"
#   terraform -chdir=infra/terraform apply -var-file=environments/prod.tfvars
project_id        = "ef-prod-123456"
region            = "europe-west1"
environment       = "prod"
cluster_name      = "energy-forecasting"
bucket_name       = "ef-prod-123456-forecasts"
object_prefix     = ""
github_owner      = "energy-forecasting"
github_repository = "energy-forecasting"

master_authorized_cidrs = [
  { cidr_block = "203.0.113.0/24", display_name = "office-vpn" },
]

node_machine_type  = "e2-standard-4"
node_min_count     = 1
node_max_count     = 3
run_retention_days = 180

labels = {
  team = "forecasting"
}
