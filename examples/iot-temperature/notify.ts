/** Stands in for a pager: logs each alert (a real one would call a webhook or send a message). */
export async function handler(event: { data: { device: string; celsius: number; threshold: number } }) {
  const { device, celsius, threshold } = event.data;
  console.log(`ALERT ${device}: ${celsius} °C is over ${threshold} °C`);
}
