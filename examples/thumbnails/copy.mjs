// An AWS Lambda S3 handler, unmodified (`events: aws`): it reads the S3 notification record and
// copies the object it names into the `thumbs` bucket under a new prefix. (A real one would resize
// the image on the way; the copy streams through without being held whole.)
export const handler = async (event, context) => {
  const results = [];
  for (const record of event.Records) {
    const bucket = record.s3.bucket.name;
    // S3 URL-encodes keys in notifications, with + for spaces
    const key = decodeURIComponent(record.s3.object.key.replace(/\+/g, ' '));
    const source = await context.bucket(bucket).get(key);
    if (!source) continue;
    const target = `small/${key.replace(/^photos\//, '')}`;
    await context.bucket('thumbs').put(target, source.body, {
      contentType: source.contentType,
      // metadata travels as HTTP headers: ASCII only, so the key is percent-encoded
      metadata: { source: encodeURIComponent(`${bucket}/${key}`) },
    });
    results.push(target);
  }
  return { copied: results };
};
