# ECR repository of an ECRRequest, rendered by goldenpath: scan on push, tag mutability, encryption, a
# lifecycle policy that keeps the newest max_images images and a repository policy granting the team's role push.

locals {
  tags = merge(var.tags, {
    "goldenpath.io/request-id"  = var.request_id
    "goldenpath.io/owner"       = var.owner
    "goldenpath.io/team"        = var.team
    "goldenpath.io/environment" = var.environment
  })
}

resource "aws_ecr_repository" "this" {
  name                 = var.name
  image_tag_mutability = var.image_tag_mutability

  image_scanning_configuration {
    scan_on_push = var.scan_on_push
  }

  encryption_configuration {
    encryption_type = var.encryption_type
    kms_key         = var.encryption_type == "KMS" ? var.kms_key_arn : null
  }

  tags = local.tags
}

resource "aws_ecr_lifecycle_policy" "this" {
  repository = aws_ecr_repository.this.name

  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "keep the newest ${var.max_images} images"
      selection = {
        tagStatus   = "any"
        countType   = "imageCountMoreThan"
        countNumber = var.max_images
      }
      action = { type = "expire" }
    }]
  })
}

resource "aws_ecr_repository_policy" "this" {
  count = var.team_role_arn == null ? 0 : 1

  repository = aws_ecr_repository.this.name

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "TeamPush"
      Effect    = "Allow"
      Principal = { AWS = var.team_role_arn }
      Action = [
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:CompleteLayerUpload",
        "ecr:GetDownloadUrlForLayer",
        "ecr:InitiateLayerUpload",
        "ecr:PutImage",
        "ecr:UploadLayerPart",
      ]
    }]
  })
}
