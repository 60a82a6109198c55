// The loopback server the vendor fakes are built on lives with them in demo/fakes (the package
// ships those fakes as the demo's stand-ins); tests keep requiring it from here.
module.exports = require("../../demo/fakes/http-server");
