import { parseCommand, parseRequestNumber } from '../../src/domain/command';

describe('parseRequestNumber', () => {
  it.each([
    ['BG-1042', 1042],
    ['bg-1042', 1042],
    ['Bg-7', 7],
    ['1042', 1042],
    [' 1042 ', 1042],
  ])('reads %j as request %d', (text, number) => {
    expect(parseRequestNumber(text)).toBe(number);
  });

  it.each(['BG1042', 'BG-', 'BG-12a', 'INC-1042', '#1042', '0', 'BG-0', '-5', '1234567890', ''])('refuses %j', (text) => {
    expect(parseRequestNumber(text)).toBeNull();
  });
});

describe('parseCommand: subcommands', () => {
  it.each([
    ['list', { kind: 'list' }],
    ['LIST', { kind: 'list' }],
    ['status BG-1042', { kind: 'status', requestNumber: 1042 }],
    ['status bg-1042', { kind: 'status', requestNumber: 1042 }],
    ['Status 1042', { kind: 'status', requestNumber: 1042 }],
    ['revoke BG-3', { kind: 'revoke', requestNumber: 3 }],
    ['audit  12', { kind: 'audit', requestNumber: 12 }],
    ['extend BG-1042 30m', { kind: 'extend', requestNumber: 1042, durationText: '30m' }],
    ['extend 1042 1h30m', { kind: 'extend', requestNumber: 1042, durationText: '1h30m' }],
    ['help', { kind: 'help' }],
  ])('reads %j', (text, expected) => {
    expect(parseCommand(text)).toEqual(expected);
  });

  it('lets a known first word win over an inline request', () => {
    expect(parseCommand('status payments-db write 30m INC-1 reason')).toMatchObject({ kind: 'invalid' });
    expect(parseCommand('list payments-db write 30m INC-1 reason')).toMatchObject({ kind: 'invalid' });
  });

  it('still reads inline requests whose first word is no subcommand', () => {
    expect(parseCommand('payments-db write 30m INC-1 listing stuck')).toMatchObject({ kind: 'request', resourceId: 'payments-db' });
  });

  function message(text: string): string {
    const command = parseCommand(text);
    if (command.kind !== 'invalid') throw new Error(`expected ${JSON.stringify(text)} to be refused, got ${command.kind}`);
    return command.message;
  }

  it.each([
    ['status', /needs the id of a request/, '/breakglass status BG-1042'],
    ['revoke', /needs the id of a request/, '/breakglass revoke BG-1042'],
    ['audit', /needs the id of a request/, '/breakglass audit BG-1042'],
    ['status INC-4211', /`INC-4211` is not a request id/, '/breakglass status BG-1042'],
    ['revoke BG-x', /`BG-x` is not a request id/, '/breakglass revoke BG-1042'],
    ['status BG-1 BG-2', /one request id/, '/breakglass status BG-1042'],
    ['list mine', /takes no arguments/, '/breakglass list'],
    ['extend', /needs the id of a request and how much longer/, '/breakglass extend BG-1042 30m'],
    ['extend BG-1042', /how much longer/, '/breakglass extend BG-1042 30m'],
    ['extend 30m BG-1042', /`30m` is not a request id/, '/breakglass extend BG-1042 30m'],
    ['extend BG-1042 soon', /`soon` is not a duration/, '/breakglass extend BG-1042 30m'],
    ['extend BG-1042 30x', /`30x` is not a duration/, '/breakglass extend BG-1042 30m'],
    ['extend BG-1042 400d', /`400d` is not a duration/, '/breakglass extend BG-1042 30m'],
    ['extend BG-1042 30m please', /one duration, nothing more/, '/breakglass extend BG-1042 30m'],
  ])('explains %j with an example', (text, problem, example) => {
    const answer = message(text);
    expect(answer).toMatch(problem);
    expect(answer).toContain(`Example: \`${example}\``);
  });

  it('answers an unknown single word with the commands and the request form', () => {
    const answer = message('lst');
    expect(answer).toContain('`lst` is not a command');
    for (const usage of [
      '/breakglass list',
      '/breakglass status <id>',
      '/breakglass revoke <id>',
      '/breakglass extend <id> <duration>',
      '/breakglass audit <id>',
      '/breakglass help',
    ]) {
      expect(answer).toContain(`\`${usage}\``);
    }
    expect(answer).toContain('Usage: `/breakglass <resource> <role> <duration>');
  });

  it('suggests status and audit for a bare request id', () => {
    const answer = message('bg-1042');
    expect(answer).toContain('e.g. `/breakglass status BG-1042` or `/breakglass audit BG-1042`');
    expect(answer).toContain('`/breakglass list`');
  });

  it('cannot be made to mention anyone or break out of the code span when it echoes input', () => {
    const answer = message('status <!channel>`x');
    expect(answer).not.toContain('<!channel>');
    expect(answer).toContain('`&lt;!channel&gt;ˋx` is not a request id');
  });
});
