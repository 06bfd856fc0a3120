// parent.js: child_process.fork() of child.js, then a spawn with an IPC channel on fd 3
// (stdio: ['pipe', 'pipe', 'pipe', 'ipc']), one after the other; prints what each child said.
const cp = require('child_process');
const path = require('path');
const child = path.join(__dirname, 'child.js');

const forked = cp.fork(child, ['fork']);
forked.on('message', (m) => console.log('fork says', m.hello));
forked.on('exit', (code) => {
  console.log('fork exit', code);
  const spawned = cp.spawn(process.execPath, [child, 'spawn'], {
    stdio: ['pipe', 'pipe', 'pipe', 'ipc'],
  });
  let out = '';
  spawned.stdout.on('data', (d) => { out += d; });
  spawned.on('message', (m) => console.log('spawn says', m.hello));
  spawned.on('exit', (code2) => {
    console.log('spawn stdout', out.trim());
    console.log('spawn exit', code2);
  });
});
