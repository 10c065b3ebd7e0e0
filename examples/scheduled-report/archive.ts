/** Subscribed to `reports`: keeps what the reports say (here, in its logs). */
export async function handler(event: { data: unknown }): Promise<void> {
  console.log('archived', JSON.stringify(event.data));
}
