/**
 * The one place kafkajs' runtime values are imported from. kafkajs-patch.ts replaces two of kafkajs'
 * producer modules in the CommonJS cache, which works only if it runs before kafkajs is first loaded;
 * importing kafkajs' values through this module (lint: no-restricted-imports) guarantees that order in
 * every service, test and benchmark. Types may still be imported from 'kafkajs' directly.
 */
import './kafkajs-patch.ts';
import './kip447.ts';
// Evaluated after the two imports above (ESM evaluates a module's requests in the order they appear).
export { Kafka, logLevel, Partitioners, AssignerProtocol } from 'kafkajs';
export { default } from 'kafkajs';
