package payload

// routeReq1500 is a realistic route_req payload of about 1.5 KB written in
// the lenient dialect kamailio.cfg scripts use: single quotes, comments,
// trailing commas, escapes, nested objects and arrays.
const routeReq1500 = `/* route_req built by kamailio.cfg */
{'Event-Category': 'dialplan', 'Event-Name': 'route_req',
 'Call-ID': 'a84b4c76e66710@pc33.atlanta.example.com',
 'Caller-ID-Name': 'O\'Brien "Bob"', 'Caller-ID-Number': '+14158867900',
 'From': 'sip:+14158867900@atlanta.example.com', 'From-Tag': '9fxced76sl',
 'To': 'sip:+14155551212@biloxi.example.com', 'To-Tag': '',
 'Request': 'sip:+14155551212@biloxi.example.com;user=phone',
 'Call-Direction': 'inbound', 'Resource-Type': 'audio', 'Switch-Hostname': 'kamailio1.example.com',
 'Timestamp': 63871234567, 'Cost': -1.5e3,
 // channel variables are copied from the dialog
 'Custom-Channel-Vars': {
   'Account-ID': '4b6e4f1c3d0a4f7a9a438f2f6f1d2e11', 'Authorizing-ID': '0d4c0c4e6a3c4b1e9f3e2c7d9b1a5e42',
   'Authorizing-Type': 'device', 'Realm': 'biloxi.example.com', 'Username': 'user_\u00e9t\u00e9', 'Presence-ID': 'alice@biloxi.example.com',
   'Caller-Privacy': false, 'Register-Overwrite-Notify': TRUE, 'Ignore-Display-Updates': null,
   'Channel-Authorized': 'true', 'Call-Forward': { 'Enabled': false, 'Number': '' , },
 },
 'Custom-SIP-Headers': {'X-AUTH-IP': '203.0.113.7', 'X-AUTH-PORT': '5060',
   'P-Asserted-Identity': '"Bob" <sip:+14158867900@atlanta.example.com>',
   'Diversion': '<sip:+14155550000@carrier.example.net>;reason=unconditional;counter=1'},
 'Media-Codecs': ['PCMU', 'PCMA', 'G722', 'OPUS', ],
 'Codec-Priority': [0, 8, 9, 111, ], 'Timeout': 30,
 'Description': 'Caf\u00e9 \u2019route\u2019 — ☕ é 😀', 'Path': 'C:\\calls\\in',
 'Notes': "double \"quoted\" with it's",
}
`
