output "bucket" {
  description = "The bucket's name."
  value       = aws_s3_bucket.this.id
}

output "arn" {
  description = "The bucket's ARN."
  value       = aws_s3_bucket.this.arn
}

output "region" {
  description = "The region the bucket is in."
  value       = aws_s3_bucket.this.bucket_region
}
