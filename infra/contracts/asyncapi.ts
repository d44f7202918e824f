/**
 * The AsyncAPI 3 document of every topic, generated from the two sources of truth: infra/topics.json (name,
 * partitions, key, config, who publishes and subscribes, delivery) and schemas/*.avsc (the value schemas,
 * referenced, not copied). docs/asyncapi.yaml is this function's output, committed; a test regenerates it and
 * fails when the two differ, and validates it with @asyncapi/parser.
 *
 *   node --import tsx infra/contracts/asyncapi.ts          write docs/asyncapi.yaml
 *   node --import tsx infra/contracts/asyncapi.ts --check  exit 1 when docs/asyncapi.yaml is out of step
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { loadSchema, REPO_ROOT } from '../../services/shared/schemas.ts';
import { TOPICS_FILE, type TopicDefinition } from '../../services/shared/kafka/topic-catalog.ts';

export const ASYNCAPI_FILE = join(REPO_ROOT, 'docs', 'asyncapi.yaml');
const AVRO_FORMAT = 'application/vnd.apache.avro;version=1.9.0';
const BINDING_VERSION = '0.5.0';

/** `upstream loan systems` -> `upstreamLoanSystems`: an identifier for operation ids. */
export function camel(text: string): string {
  const words = text
    .replace(/\(.*?\)/g, (m) => ` ${m.slice(1, -1)} `)
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean);
  return words.map((w, i) => (i === 0 ? w.toLowerCase() : w[0]!.toUpperCase() + w.slice(1).toLowerCase())).join('');
}

/** The topic-level settings the AsyncAPI Kafka channel binding (0.5.0) knows. */
function topicConfiguration(config: Readonly<Record<string, string>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (config['cleanup.policy']) out['cleanup.policy'] = config['cleanup.policy'].split(',');
  if (config['retention.ms']) out['retention.ms'] = Number(config['retention.ms']);
  return out;
}

function messageName(def: TopicDefinition): string {
  return loadSchema(def.schema).name;
}

/** How a topic is replicated: the role's pinned factor and min.insync.replicas, else the cluster's defaults (services/shared/kafka/topic-catalog.ts replicationOf). */
function replicationText(def: TopicDefinition): string {
  const factor = def.replicationFactor !== undefined ? `to ${def.replicationFactor} brokers` : "by the cluster's default.replication.factor";
  const minIsr = def.minInsyncReplicas !== undefined ? String(def.minInsyncReplicas) : "of the broker's default";
  return `Replicated ${factor} with min.insync.replicas ${minIsr}; a cluster with fewer brokers alive than the factor refuses to create it.`;
}

export function asyncApiDocument(): Record<string, unknown> {
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  const { defaults, topics } = TOPICS_FILE;
  for (const [role, def] of Object.entries(topics)) {
    const schema = loadSchema(def.schema);
    const name = messageName(def);
    messages[name] = {
      name,
      title: `${schema.namespace ? `${schema.namespace}.` : ''}${schema.name}`,
      summary: (schema as { doc?: string }).doc ?? `A ${def.schema} record.`,
      contentType: 'application/vnd.apache.avro+binary',
      payload: { schemaFormat: AVRO_FORMAT, schema: { $ref: `../schemas/${def.schema}.avsc` } },
      bindings: {
        kafka: {
          key: { type: 'string', description: `Message key: ${def.key}.` },
          schemaIdLocation: 'payload',
          schemaIdPayloadEncoding: 'confluent',
          schemaLookupStrategy: 'TopicNameStrategy',
          bindingVersion: BINDING_VERSION,
        },
      },
    };
    channels[role] = {
      address: def.name,
      title: def.name,
      description: `${def.delivery ?? ''} ${replicationText(def)} The name is overridable with ${def.env}.`.trim(),
      messages: { [name]: { $ref: `#/components/messages/${name}` } },
      bindings: {
        kafka: {
          topic: def.name,
          partitions: def.partitions ?? defaults.partitions,
          // Only when infra/topics.json pins it; otherwise the cluster's default.replication.factor decides.
          ...(def.replicationFactor !== undefined ? { replicas: def.replicationFactor } : {}),
          topicConfiguration: topicConfiguration(def.config),
          bindingVersion: BINDING_VERSION,
        },
      },
    };
    const op = (action: 'send' | 'receive', who: string) => {
      operations[`${camel(who)}${action === 'send' ? 'Sends' : 'Receives'}${role[0]!.toUpperCase()}${role.slice(1)}`] = {
        action,
        title: `${who} ${action === 'send' ? 'publishes to' : 'subscribes to'} ${def.name}`,
        channel: { $ref: `#/channels/${role}` },
        messages: [{ $ref: `#/channels/${role}/messages/${name}` }],
      };
    };
    for (const p of def.publishers ?? []) op('send', p);
    for (const s of def.subscribers ?? []) op('receive', s);
  }
  return {
    asyncapi: '3.1.0',
    info: {
      title: 'Streaming credit-risk scorer: Kafka topics',
      version: (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version,
      description:
        'Every topic of the system: loan applications in, decisions, scoring log, dead letters, model announcements and drift results out. ' +
        'Values are Avro in the Confluent wire format (magic byte 0, 4-byte schema id, Avro binary) with schemas registered under the topic-name strategy, BACKWARD compatible. ' +
        'Generated from infra/topics.json and schemas/*.avsc by infra/contracts/asyncapi.ts: do not edit by hand.',
    },
    defaultContentType: 'application/vnd.apache.avro+binary',
    servers: {
      local: { host: '127.0.0.1:19092', protocol: 'kafka', description: 'The local stack of `make stack` (KAFKA_BROKERS overrides).' },
    },
    channels,
    operations,
    components: { messages },
  };
}

export function asyncApiYaml(): string {
  return `# Generated by infra/contracts/asyncapi.ts from infra/topics.json and schemas/*.avsc: do not edit.\n${stringify(asyncApiDocument(), { lineWidth: 0 })}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const text = asyncApiYaml();
  if (process.argv.includes('--check')) {
    const current = readFileSync(ASYNCAPI_FILE, 'utf8');
    if (current !== text) {
      console.error(`${ASYNCAPI_FILE} is out of step with infra/topics.json / schemas/: run make contracts`);
      process.exit(1);
    }
  } else {
    writeFileSync(ASYNCAPI_FILE, text);
    console.log(`wrote ${ASYNCAPI_FILE}`);
  }
}
