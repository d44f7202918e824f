/** Topic definitions come from infra/topics.json (one source of truth); names can be overridden by env. Pure: no client. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../schemas.ts';

export interface TopicDefinition {
  readonly name: string;
  readonly env: string;
  readonly key: string;
  readonly schema: string;
  readonly partitions?: number;
  /** Who writes and who reads the topic, and what a reader can rely on (documentation: docs/asyncapi.yaml). */
  readonly publishers?: readonly string[];
  readonly subscribers?: readonly string[];
  readonly delivery?: string;
  readonly replicationFactor?: number;
  readonly minInsyncReplicas?: number;
  readonly config: Readonly<Record<string, string>>;
}

interface TopicsFile {
  readonly defaults: { readonly partitions: number };
  readonly topics: Readonly<Record<string, TopicDefinition>>;
}

export const TOPICS_FILE: TopicsFile = JSON.parse(readFileSync(join(REPO_ROOT, 'infra', 'topics.json'), 'utf8')) as TopicsFile;

export type TopicRole = keyof typeof TOPICS_FILE.topics & string;
export type TopicNames = Readonly<Record<string, string>> & {
  readonly applications: string;
  readonly decisions: string;
  readonly scoringLog: string;
  readonly deadLetters: string;
  readonly modelUpdates: string;
  readonly modelEvents: string;
  readonly outcomes: string;
};

export function topicNamesFromEnv(rawEnv: NodeJS.ProcessEnv): TopicNames {
  const names: Record<string, string> = {};
  for (const [role, def] of Object.entries(TOPICS_FILE.topics)) names[role] = rawEnv[def.env] || def.name;
  return Object.freeze(names) as TopicNames;
}

export function topicDefinition(role: string): TopicDefinition {
  const def = TOPICS_FILE.topics[role];
  if (!def) throw new Error(`no topic role "${role}" in infra/topics.json`);
  return def;
}

/**
 * A new topic's replication: the role's own `replicationFactor` / `minInsyncReplicas` from
 * infra/topics.json when it pins them, else the cluster's defaults (default.replication.factor via
 * replication factor -1, KIP-464, and the broker's min.insync.replicas): what the cluster's operator set
 * for its size (the local stack: 1 and 1 on one broker, 3 and 2 on three). Never "the brokers alive right
 * now": with fewer alive than the factor, Kafka refuses the topic (INVALID_REPLICATION_FACTOR, retried by
 * the services' start-up) instead of creating it under-replicated for good.
 */
export function replicationOf(def: Pick<TopicDefinition, 'replicationFactor' | 'minInsyncReplicas'>): { replicationFactor: number; config: Record<string, string> } {
  return {
    replicationFactor: def.replicationFactor ?? -1,
    config: def.minInsyncReplicas !== undefined ? { 'min.insync.replicas': String(def.minInsyncReplicas) } : {},
  };
}
