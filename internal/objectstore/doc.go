// Package objectstore is goldenpath's embedded S3-compatible object store, the local
// backend for S3Requests. It serves the S3 REST API in path-style form (/<bucket>/<key>)
// to the AWS SDKs, verifies every request's Signature Version 4 (Authorization header,
// presigned URL and aws-chunked streaming bodies), and keeps buckets, objects, versions
// and multipart uploads under one directory, so that a restart serves everything that
// was there before.
//
// Layout under the store's directory:
//
//	meta.db        SQLite: buckets, object versions, multipart uploads and parts
//	blobs/xx/<id>  object and part bytes, named by a random id and never by the key,
//	               so that no key ("..", "/", unicode) can reach outside the store
//	tmp/           bodies being received; emptied when the store opens
//
// Metadata lives in SQLite (modernc.org/sqlite, pure Go) rather than in an in-memory
// index because listing must be sorted by key bytes (SQLite's BINARY collation is
// exactly S3's UTF-8 byte order), a put touches several rows (old version, new version,
// bucket counters) that must change together, and the index must survive a crash
// without rewriting a whole file on every put.
//
// Bytes are written to tmp/, checked (SHA-256, chunk signatures, checksums), synced and
// renamed into blobs/ before the metadata transaction that makes them visible commits:
// a crash leaves either the old object or the new one, never half of one.
package objectstore
