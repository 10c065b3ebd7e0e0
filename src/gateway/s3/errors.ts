/**
 * s3/errors: the S3 error codes Gust answers, each with its HTTP status, sent as S3's XML error
 * document (`<Error><Code>NoSuchKey</Code><Message>...</Message>...`), which every S3 client reads.
 */
import { xmlDocument } from './xml.js';

export const S3_ERRORS = {
  AccessDenied: 403,
  BadDigest: 400,
  BucketAlreadyOwnedByYou: 409,
  BucketNotEmpty: 409,
  EntityTooLarge: 400,
  EntityTooSmall: 400,
  IncompleteBody: 400,
  InternalError: 500,
  InvalidAccessKeyId: 403,
  InvalidArgument: 400,
  InvalidBucketName: 400,
  InvalidDigest: 400,
  InvalidPart: 400,
  InvalidPartOrder: 400,
  InvalidRange: 416,
  InvalidRequest: 400,
  KeyTooLongError: 400,
  MalformedXML: 400,
  MetadataTooLarge: 400,
  MethodNotAllowed: 405,
  MissingContentLength: 411,
  NoSuchBucket: 404,
  NoSuchKey: 404,
  NoSuchUpload: 404,
  NotImplemented: 501,
  OperationAborted: 409,
  PreconditionFailed: 412,
  RequestTimeTooSkewed: 403,
  ServiceUnavailable: 503,
  SignatureDoesNotMatch: 403,
  SlowDown: 503,
  XAmzContentSHA256Mismatch: 400,
} as const;

export type S3Code = keyof typeof S3_ERRORS;

/** A refusal the client gets as an S3 error document; `resource` names the bucket or key. */
export class S3Error extends Error {
  override name = 'S3Error';
  constructor(
    readonly code: S3Code,
    message: string,
    readonly resource = '',
  ) {
    super(message);
  }

  get status(): number {
    return S3_ERRORS[this.code];
  }

  body(requestId: string): string {
    return xmlDocument('Error', {
      Code: this.code,
      Message: this.message,
      Resource: this.resource,
      RequestId: requestId,
    });
  }
}
