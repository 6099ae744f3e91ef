/*
 * Reference parser for TestAgainstJSONC: parses each input exactly as the C
 * kazoo module did (kz_json_parse: json_tokener_parse_ex(tok, str, -1) with
 * default, non-strict flags) and prints json-c's serialisation.
 *
 * Input on stdin: records of a 4-byte little-endian length and the bytes.
 * Output per record: "ERR <description>\n" or "OK <len>\n<json>\n".
 *
 * Built against the system libjson-c at test time; json-c's headers are not
 * needed, the few functions used are declared here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct json_tokener json_tokener;
typedef struct json_object json_object;
json_tokener *json_tokener_new(void);
json_object *json_tokener_parse_ex(json_tokener *tok, const char *str, int len);
int json_tokener_get_error(json_tokener *tok);
const char *json_tokener_error_desc(int err);
void json_tokener_free(json_tokener *tok);
const char *json_object_to_json_string_ext(json_object *obj, int flags);
int json_object_put(json_object *obj);

#define JSON_C_TO_STRING_PLAIN 0
#define JSON_C_TO_STRING_NOSLASHESCAPE (1 << 4)

int main(void)
{
	unsigned char lenbuf[4];
	while (fread(lenbuf, 1, 4, stdin) == 4) {
		unsigned int n = lenbuf[0] | lenbuf[1] << 8 | lenbuf[2] << 16 | (unsigned int)lenbuf[3] << 24;
		char *buf = malloc(n + 1);
		if (!buf || fread(buf, 1, n, stdin) != n)
			return 1;
		buf[n] = 0;
		json_tokener *tok = json_tokener_new();
		json_object *obj = json_tokener_parse_ex(tok, buf, -1);
		int err = json_tokener_get_error(tok);
		if (err != 0) {
			printf("ERR %s\n", json_tokener_error_desc(err));
		} else {
			const char *s = json_object_to_json_string_ext(
			    obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
			printf("OK %zu\n%s\n", strlen(s), s);
		}
		if (obj)
			json_object_put(obj);
		json_tokener_free(tok);
		free(buf);
	}
	return 0;
}
