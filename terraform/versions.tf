terraform {
  # 1.5: strcontains() in validations; cross-variable rules are lifecycle preconditions (1.2+).
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }

  # The state holds generated secrets (SECRET_KEY, database and Redis passwords): keep it in an
  # encrypted, access-controlled backend, never in git. For example (fill in and uncomment):
  #
  # backend "s3" {
  #   bucket       = "my-terraform-state"
  #   key          = "inventory-monitor/terraform.tfstate"
  #   region       = "us-east-1"
  #   encrypt      = true
  #   use_lockfile = true # S3-native locking (Terraform 1.10+); older versions: dynamodb_table
  # }
}

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = merge(
      {
        Project   = "smart-inventory-monitor"
        Name      = var.name
        ManagedBy = "terraform"
      },
      var.tags,
    )
  }
}
