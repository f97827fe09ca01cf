// `npm run new:subgraph`: the names it accepts and the text it adds to shared files. The generator
// itself is proven on a copy of the repository in e2e/new-subgraph.e2e.test.ts.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSchema } from 'graphql';
import { defaultEntity, entityProblem, nameProblem, schemaClashes, subgraphNames, withComposeService, withCopiedBlock, withPrivateKeySetting, withSettingsRow } from './new-subgraph';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

describe('names and registration text', () => {
  it('takes lower-case letters and digits, and refuses reserved and existing names', () => {
    expect(nameProblem('inventory')).toBeNull();
    expect(nameProblem('support-tickets')).toMatch(/letters and digits only, e\.g\. "supporttickets"/);
    expect(nameProblem('Inventory')).toMatch(/lower-case letters and digits/);
    expect(nameProblem('9lives')).toMatch(/starting with a letter/);
    expect(nameProblem('audit')).toMatch(/reserved/);
    expect(nameProblem('public')).toMatch(/reserved/);
    expect(nameProblem('workspaces')).toMatch(/exists already/);
  });

  it('takes a kebab-case entity that shadows nothing the generated code uses', () => {
    expect(entityProblem('stock-item')).toBeNull();
    expect(entityProblem('Stock_item')).toMatch(/lower-case words joined by "-"/);
    expect(entityProblem('date')).toMatch(/Date is a name the generated code uses already/);
    expect(entityProblem('record')).toMatch(/Record is a name the generated code uses already/);
  });

  it('derives the entity and every spelling from the name', () => {
    expect(defaultEntity('projects')).toBe('project');
    expect(defaultEntity('inventory')).toBe('inventory-item');
    expect(subgraphNames('inventory', 'stock-item', 4005, new Date('2026-11-26T01:02:03Z'))).toMatchObject({
      NAME: 'INVENTORY',
      Entity: 'StockItem',
      entityCamel: 'stockItem',
      table: 'stock_items',
      listField: 'inventory',
      createField: 'createStockItem',
      timestamp: '20261126010203',
    });
  });

  it('refuses an entity whose types or fields the supergraph has already', () => {
    const api = buildSchema(readFileSync(join(ROOT, 'schema/api.graphql'), 'utf8'), { assumeValidSDL: true });
    expect(schemaClashes(api, subgraphNames('todos', 'todo', 4005))).toEqual(['type Todo', 'type TodoEdge', 'type TodoConnection', 'type CreateTodoInput', 'Mutation.createTodo']);
    expect(schemaClashes(api, subgraphNames('inventory', 'inventory-item', 4005))).toEqual([]);
  });

  it('adds a settings row after the last host and port row', () => {
    const readme = '| `A_HOST`, `A_PORT` | a | x | y |\n| `B_HOST`, `B_PORT` | b | x | y |\n| `OTHER` | c | x | y |\n';
    expect(withSettingsRow(readme, subgraphNames('inventory', 'item', 4005))?.split('\n')[2]).toMatch(/^\| `INVENTORY_HOST`, `INVENTORY_PORT`, `INVENTORY_PRIVATE_KEY` \| inventory, launcher \| `127\.0\.0\.1`, `4005`, unset \|/);
  });

  it('copies the workspaces block above a marker, renamed', () => {
    const compose = ['services:', '  workspaces:', '    environment:', '      WORKSPACES_PORT: 4004', '  gateway:', '    image: x', '  # new:subgraph inserts services above this line', ''].join('\n');
    expect(withCopiedBlock(compose, '  # new:subgraph inserts services above this line', /^ {2}workspaces:\s*$/, subgraphNames('inventory', 'item', 4005))).toBe(
      ['services:', '  workspaces:', '    environment:', '      WORKSPACES_PORT: 4004', '  gateway:', '    image: x', '  inventory:', '    environment:', '      INVENTORY_PORT: 4005', '  # new:subgraph inserts services above this line', ''].join('\n'),
    );
    expect(withCopiedBlock('services:\n', '  # new:subgraph inserts services above this line', /^ {2}workspaces:/, subgraphNames('inventory', 'item', 4005))).toBeNull();
  });

  it('registers the service in docker-compose wherever workspaces is a feature subgraph, and nowhere else', () => {
    const compose = [
      'services:',
      '  identity:',
      '    environment:',
      '      SERVICE_JWKS_URLS: >-',
      '        workspaces=http://workspaces:4004/.well-known/jwks.json,',
      '  audit:',
      '    environment:',
      '      SERVICE_JWKS_URLS: >-',
      '        identity=http://identity:4001/.well-known/jwks.json,',
      '        workspaces=http://workspaces:4004/.well-known/jwks.json,',
      '',
      '  workspaces:',
      '    environment:',
      '      WORKSPACES_PORT: "4004"',
      '      IDENTITY_URL: http://identity:4001',
      '',
      '  # new:subgraph inserts services above this line',
      '',
      '  gateway:',
      '    environment:',
      '      SUBGRAPH_WORKSPACES_URL: http://workspaces:4004/graphql',
      '    depends_on:',
      '      workspaces:',
      '        condition: service_healthy',
      '',
    ].join('\n');
    expect(withComposeService(compose, subgraphNames('inventory', 'item', 4005))).toBe(
      [
        'services:',
        '  identity:',
        '    environment:',
        '      SERVICE_JWKS_URLS: >-',
        '        workspaces=http://workspaces:4004/.well-known/jwks.json,',
        '  audit:',
        '    environment:',
        '      SERVICE_JWKS_URLS: >-',
        '        identity=http://identity:4001/.well-known/jwks.json,',
        '        workspaces=http://workspaces:4004/.well-known/jwks.json,',
        '        inventory=http://inventory:4005/.well-known/jwks.json,',
        '',
        '  workspaces:',
        '    environment:',
        '      WORKSPACES_PORT: "4004"',
        '      IDENTITY_URL: http://identity:4001',
        '',
        '  inventory:',
        '    environment:',
        '      INVENTORY_PORT: "4005"',
        '',
        '  # new:subgraph inserts services above this line',
        '',
        '  gateway:',
        '    environment:',
        '      SUBGRAPH_WORKSPACES_URL: http://workspaces:4004/graphql',
        '      SUBGRAPH_INVENTORY_URL: http://inventory:4005/graphql',
        '    depends_on:',
        '      workspaces:',
        '        condition: service_healthy',
        '      inventory:',
        '        condition: service_healthy',
        '',
      ].join('\n'),
    );
    expect(withPrivateKeySetting('AUDIT_PRIVATE_KEY=\nWORKSPACES_PRIVATE_KEY=\n\nOTHER=1\n', subgraphNames('inventory', 'item', 4005))).toBe('AUDIT_PRIVATE_KEY=\nWORKSPACES_PRIVATE_KEY=\nINVENTORY_PRIVATE_KEY=\n\nOTHER=1\n');
  });
});

