import { COMMAND_EXAMPLE, parseCommand } from '../../src/domain/command';

describe('parseCommand', () => {
  it.each(['', '   ', '\n'])('opens the form for %j', (text) => {
    expect(parseCommand(text)).toEqual({ kind: 'open-modal' });
  });

  it.each(['help', 'HELP', ' Help '])('shows help for %j', (text) => {
    expect(parseCommand(text)).toEqual({ kind: 'help' });
  });

  it('reads a full request', () => {
    expect(parseCommand('payments-db write 30m INC-4211 payout worker stuck, need to requeue')).toEqual({
      kind: 'request',
      resourceId: 'payments-db',
      roleId: 'write',
      durationText: '30m',
      ticket: 'INC-4211',
      reason: 'payout worker stuck, need to requeue',
    });
  });

  it('treats "-" as no ticket', () => {
    const command = parseCommand('deploy-console operator 2h - rolling back release 42');
    expect(command).toMatchObject({ kind: 'request', ticket: null, reason: 'rolling back release 42' });
  });

  it('tolerates extra spaces between arguments and trims the reason', () => {
    const command = parseCommand('  payments-db   read\t 8h   INC-1    look at   the ledger  ');
    expect(command).toEqual({
      kind: 'request',
      resourceId: 'payments-db',
      roleId: 'read',
      durationText: '8h',
      ticket: 'INC-1',
      reason: 'look at   the ledger',
    });
  });

  it('lowercases ids, which are lowercase in every policy', () => {
    expect(parseCommand('Payments-DB WRITE 30m INC-1 why')).toMatchObject({ resourceId: 'payments-db', roleId: 'write' });
  });

  it('unescapes Slack HTML entities in the reason without double-unescaping', () => {
    const command = parseCommand('payments-db write 30m INC-1 fix a&amp;b where x &lt; 3 &gt; y, literal &amp;lt;');
    expect(command).toMatchObject({ reason: 'fix a&b where x < 3 > y, literal &lt;' });
  });

  it.each(['payments-db', 'payments-db write', 'payments-db write 30m'])('explains the usage for too few arguments (%j)', (text) => {
    const command = parseCommand(text);
    expect(command.kind).toBe('invalid');
    if (command.kind !== 'invalid') return;
    expect(command.message).toContain('Usage: `/breakglass <resource> <role> <duration>');
    expect(command.message).toContain(COMMAND_EXAMPLE);
    expect(COMMAND_EXAMPLE).toBe('/breakglass payments-db write 30m INC-4211 payout worker stuck, need to requeue');
  });

  it('requires a reason after the ticket', () => {
    const command = parseCommand('payments-db write 30m INC-4211   ');
    expect(command.kind).toBe('invalid');
    if (command.kind !== 'invalid') return;
    expect(command.message).toMatch(/reason/);
    expect(command.message).toContain(COMMAND_EXAMPLE);
  });

  it('requires a reason when there is no ticket either', () => {
    expect(parseCommand('payments-db write 30m - ').kind).toBe('invalid');
  });
});
