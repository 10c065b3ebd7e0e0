/** publish: a message to a topic; every function subscribed to it gets it (at least once). */
import type { Command } from 'commander';
import type { Cli } from '../context.js';
import { readData } from '../data.js';
import { emit, type JsonFlag } from '../output.js';

interface PublishAnswer {
  readonly topic: string;
  readonly id: string;
  readonly subscribers: number;
}

export function registerPublishCommand(program: Command, cli: Cli): void {
  program
    .command('publish')
    .description('publish a message to a topic (its data: JSON)')
    .argument('<topic>', 'topic name, declared under topics in a gust.yaml')
    .requiredOption(
      '-d, --data <JSON|@FILE|->',
      'the message data: inline JSON, @file.json, or - for standard input',
    )
    .option('--json', 'print JSON')
    .action(async (topic: string, flags: JsonFlag & { data: string }) => {
      const data = await readData(cli, flags.data);
      const answer = await cli
        .client()
        .post<PublishAnswer>(`/topics/${encodeURIComponent(topic)}/publish`, { data: data.value });
      emit(cli, flags, answer, (a) =>
        a.subscribers === 0
          ? `published ${a.id} to ${a.topic}: no function subscribes to it, so nobody gets it`
          : `published ${a.id} to ${a.topic}: ${a.subscribers} subscriber${a.subscribers === 1 ? '' : 's'}`,
      );
    });
}
