/** embedded/object-rows: objects and multipart uploads as rows of their tables, and back. */
import type { ObjectInfo, UploadInfo } from '../ports.js';

export interface ObjectRow {
  bucket: string;
  key: string;
  file: string;
  size: number;
  etag: string;
  content_type: string;
  metadata: string;
  headers: string;
  checksum: string | null;
  modified_at: number;
}

export const toInfo = (r: ObjectRow): ObjectInfo => ({
  bucket: r.bucket,
  key: r.key,
  size: r.size,
  etag: r.etag,
  contentType: r.content_type,
  metadata: JSON.parse(r.metadata) as Record<string, string>,
  headers: JSON.parse(r.headers) as Record<string, string>,
  checksum: r.checksum,
  modifiedAt: r.modified_at,
});

export interface UploadRow {
  id: string;
  bucket: string;
  key: string;
  content_type: string;
  metadata: string;
  headers: string;
  created_at: number;
}

export const toUpload = (r: UploadRow): UploadInfo => ({
  id: r.id,
  bucket: r.bucket,
  key: r.key,
  contentType: r.content_type,
  metadata: JSON.parse(r.metadata) as Record<string, string>,
  headers: JSON.parse(r.headers) as Record<string, string>,
  createdAt: r.created_at,
});
