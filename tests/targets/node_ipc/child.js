// child.js: says hello over the IPC channel its parent gave it, then disconnects.
process.send({ hello: process.argv[2] }, () => {
  console.log('child', process.argv[2], 'done');
  process.disconnect();
});
