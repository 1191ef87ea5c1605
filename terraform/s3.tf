# Media: the frames kept with each camera's activity log, the review set's copies and the installed
# model versions (MEDIA_STORAGE=s3). Every task of the service reads and writes the same objects, and
# they outlive a task (a Fargate task's disk does not: a model version installed there would be gone
# after a redeploy). Private: browsers never read it, the app streams frames to signed-in users.

resource "aws_s3_bucket" "media" {
  # checkov:skip=CKV_AWS_18: access logging needs a second bucket; every read goes through the app, whose requests are logged
  # checkov:skip=CKV_AWS_144: cross-region replication doubles the cost; frames are short-lived and models come from ml/
  # checkov:skip=CKV2_AWS_62: no consumer for event notifications; the app is the only writer and reader
  # checkov:skip=CKV_AWS_145: SSE-S3 (AES256) encrypts at rest; a customer-managed KMS key adds cost and key-policy upkeep
  bucket_prefix = "${var.name}-media-"
}

resource "aws_s3_bucket_public_access_block" "media" {
  bucket                  = aws_s3_bucket.media.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "media" {
  bucket = aws_s3_bucket.media.id
  rule {
    object_ownership = "BucketOwnerEnforced" # no ACLs at all: the bucket policy and IAM decide
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "media" {
  bucket = aws_s3_bucket.media.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

# Versioning guards model files against an accidental overwrite; the lifecycle below keeps the
# bound the app promises (20 frames per camera) by expiring the versions the app deleted.
resource "aws_s3_bucket_versioning" "media" {
  bucket = aws_s3_bucket.media.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "media" {
  bucket     = aws_s3_bucket.media.id
  depends_on = [aws_s3_bucket_versioning.media]

  rule {
    id     = "expire-deleted-objects"
    status = "Enabled"
    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.media_noncurrent_days
    }
    expiration {
      expired_object_delete_marker = true
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

data "aws_iam_policy_document" "media_bucket" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.media.arn,
      "${aws_s3_bucket.media.arn}/*",
    ]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "media" {
  bucket     = aws_s3_bucket.media.id
  policy     = data.aws_iam_policy_document.media_bucket.json
  depends_on = [aws_s3_bucket_public_access_block.media]
}
