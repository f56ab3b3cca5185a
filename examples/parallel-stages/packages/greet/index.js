module.exports = (name) => `hello, ${name || "world"}`;
