// ESLint for the browser scripts (static/js; tests/test_static.py runs it): a name used
// but defined nowhere is an error. The pages' scripts share no modules: each is a plain
// script, and what one defines for another is listed here.
import globals from "globals";

export default [
  {
    files: ["static/js/**/*.js"],
    languageOptions: {
      ecmaVersion: 2020,
      sourceType: "script",
      globals: {
        ...globals.browser,
        io: "readonly", // static/vendor/socket.io
        SignaturePad: "readonly", // static/vendor/signature_pad
        RoomPeers: "readonly", // static/js/peers.js, for room.js
      },
    },
    rules: {
      "no-undef": "error",
      "no-redeclare": "error",
      "no-unused-vars": ["error", { args: "none", caughtErrors: "none" }],
    },
  },
];
