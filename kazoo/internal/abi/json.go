package abi

// What a JSON path found (kz_json_kind): kz.json, kazoo_json.
const (
	JSONString  = 0
	JSONNumber  = 1
	JSONBool    = 2
	JSONNull    = 3
	JSONObject  = 4
	JSONArray   = 5
	JSONMissing = 6
	JSONInvalid = 7
)
