// Subscribed to `jobs-failed`: what still failed after its retries, with why.
export const handler = async (event) => {
  const { function: fn, attempts, error, source } = event.data;
  console.log(
    `dead letter from ${fn} after ${attempts} attempts (${error.message}): ${JSON.stringify(source.event.data)}`,
  );
};
