// The fake Slack Web API moved to src/sandbox/slack-stand-in/ so `npm run sandbox` and the tests use one stand-in.
export * from '../../src/sandbox/slack-stand-in/fake-slack-api';
