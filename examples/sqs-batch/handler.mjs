// A Lambda handler written for an SQS queue with ReportBatchItemFailures: it runs on Gust
// unmodified (events: aws), fed by the `jobs` topic in batches of up to 10. A job it cannot do is
// reported in batchItemFailures: only that message is retried (then dead-lettered to jobs-failed).
export const handler = async (event) => {
  const batchItemFailures = [];
  for (const record of event.Records) {
    const job = JSON.parse(record.body);
    if (job.fail) {
      console.log(`job ${job.id} failed (receive count ${record.attributes.ApproximateReceiveCount})`);
      batchItemFailures.push({ itemIdentifier: record.messageId });
    } else {
      console.log(`job ${job.id} done`);
    }
  }
  return { batchItemFailures };
};
