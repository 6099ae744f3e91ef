/*
 * Reference for TestAgainstJSONC: the C kazoo module's JSON lookups
 * (kz_json.c of kamailio 5.6.3: kz_json_get_field_object, kz_str_split,
 * kz_json_get_field_ex, kz_json_get_count, kz_json_get_keys) run against the
 * real libjson-c. The lookup code is copied from the module; the differences:
 * the failing assert of kz_str_split prints ABORT instead of killing the
 * process, f1/f2 are large enough for any key, f1 starts empty (the Debian
 * build was observed to look up the empty key for a path starting with '['),
 * and pkg_malloc is malloc.
 *
 * Built at test time against libjson-c.so.5; json-c's headers are not needed.
 *
 * Input on stdin, records of: mode byte (G get, C count, K keys, D dump the
 * root), escape char byte, 4-byte little-endian document length, document,
 * 4-byte length, path.
 * Output per record: "INVALID\n", "ABORT\n", "NULL\n", "VAL <len>\n<bytes>\n",
 * "COUNT <n>\n", or "KEYS <n>\n" followed by n times "<len>\n<bytes>\n".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct json_object json_object;
struct json_object_iterator {
	const void *opaque_;
};
json_object *json_tokener_parse(const char *str);
int json_object_object_get_ex(const json_object *obj, const char *key, json_object **value);
const char *json_object_get_string(json_object *obj);
int json_object_is_type(const json_object *obj, int type);
json_object *json_object_array_get_idx(const json_object *obj, size_t idx);
size_t json_object_array_length(const json_object *obj);
json_object *json_object_get(json_object *obj);
int json_object_put(json_object *obj);
const char *json_object_to_json_string_ext(json_object *obj, int flags);
struct json_object_iterator json_object_iter_begin(json_object *obj);
struct json_object_iterator json_object_iter_end(const json_object *obj);
void json_object_iter_next(struct json_object_iterator *iter);
const char *json_object_iter_peek_name(const struct json_object_iterator *iter);
int json_object_iter_equal(const struct json_object_iterator *a, const struct json_object_iterator *b);

#define json_type_object 4
#define json_type_array 5
#define JSON_C_TO_STRING_SPACED 1

static char kz_json_escape_char = '%';
static int aborted;

typedef struct {
	char *s;
	int len;
} str;

static str **kz_str_split(char *a_str, const char a_delim, int *c)
{
	str **result = 0;
	int count = 0;
	char *tmp = a_str;
	char *last_comma = 0;
	char delim[2];
	delim[0] = a_delim;
	delim[1] = 0;
	int len = 0;

	while (*tmp) {
		if (a_delim == *tmp) {
			count++;
			last_comma = tmp;
		}
		tmp++;
	}
	count += last_comma < (a_str + strlen(a_str) - 1);
	*c = count;
	result = malloc(sizeof(str *) * (count + 1));
	memset(result, 0, sizeof(str *) * (count + 1));
	int idx = 0;
	char *token = strtok(a_str, delim);
	while (token) {
		if (idx >= count) { /* assert(idx < count) */
			aborted = 1;
			break;
		}
		result[idx] = malloc(sizeof(str));
		len = strlen(token);
		result[idx]->len = len;
		result[idx]->s = malloc(len + 1);
		strncpy(result[idx]->s, token, len);
		result[idx]->s[len] = '\0';
		int i = 0;
		while (i < len) {
			if (result[idx]->s[i] == kz_json_escape_char)
				result[idx]->s[i] = '.';
			i++;
		}
		token = strtok(0, delim);
		idx++;
	}
	if (idx != count) /* assert(idx == count) */
		aborted = 1;
	*c = idx;
	return result;
}

static json_object *kz_json_get_object(json_object *jso, const char *key)
{
	json_object *result = NULL;
	json_object_object_get_ex(jso, key, &result);
	return result;
}

static int invalid;

static json_object *kz_json_get_field_object(const char *json, const char *field)
{
	str **keys;
	str *key;
	char *dup;
	static char f1[1 << 16], f2[1 << 16];
	int i, parts;

	f1[0] = 0;
	json_object *j = json_tokener_parse(json);
	if (j == NULL) {
		invalid = 1;
		return NULL;
	}
	json_object *jtree = NULL;
	json_object *ret = NULL;

	dup = strdup(field);
	keys = kz_str_split(dup, '.', &parts);
	free(dup);
	if (aborted) {
		json_object_put(j);
		return NULL;
	}
	jtree = j;
	for (i = 0; i < parts; i++) {
		key = keys[i];
		if (jtree != NULL) {
			int sresult = sscanf(key->s, "%[^[][%[^]]]", f1, f2);
			jtree = kz_json_get_object(jtree, f1);
			if (jtree != NULL && sresult > 1 && json_object_is_type(jtree, json_type_array)) {
				int idx = atoi(f2);
				jtree = json_object_array_get_idx(jtree, idx);
			}
		}
	}
	for (i = 0; i < parts; i++) {
		free(keys[i]->s);
		free(keys[i]);
	}
	free(keys);
	if (jtree != NULL)
		ret = json_object_get(jtree);
	json_object_put(j);
	return ret;
}

static char *readrec(unsigned int *n)
{
	unsigned char lenbuf[4];
	if (fread(lenbuf, 1, 4, stdin) != 4)
		return NULL;
	*n = lenbuf[0] | lenbuf[1] << 8 | lenbuf[2] << 16 | (unsigned int)lenbuf[3] << 24;
	char *buf = malloc(*n + 1);
	if (!buf || fread(buf, 1, *n, stdin) != *n)
		exit(1);
	buf[*n] = 0;
	return buf;
}

static void val(const char *s)
{
	size_t n = strlen(s);
	printf("VAL %zu\n", n);
	fwrite(s, 1, n, stdout);
	putchar('\n');
}

int main(void)
{
	int mode;
	while ((mode = getchar()) != EOF) {
		unsigned int n;
		kz_json_escape_char = (char)getchar();
		char *doc = readrec(&n);
		char *path = readrec(&n);
		if (!doc || !path)
			return 1;
		aborted = invalid = 0;
		if (mode == 'D') {
			json_object *j = json_tokener_parse(doc);
			if (j == NULL)
				printf("INVALID\n");
			else
				val(json_object_to_json_string_ext(j, JSON_C_TO_STRING_SPACED));
			json_object_put(j);
		} else {
			json_object *jtree = kz_json_get_field_object(doc, path);
			if (invalid)
				printf("INVALID\n");
			else if (aborted)
				printf("ABORT\n");
			else if (mode == 'G') {
				if (jtree == NULL)
					printf("NULL\n");
				else
					val(json_object_get_string(jtree));
			} else if (mode == 'C') {
				size_t c = 0;
				if (jtree != NULL && json_object_is_type(jtree, json_type_array))
					c = json_object_array_length(jtree);
				printf("COUNT %zu\n", c);
			} else {
				int k = 0;
				if (jtree != NULL && json_object_is_type(jtree, json_type_object)) {
					struct json_object_iterator it = json_object_iter_begin(jtree);
					struct json_object_iterator end = json_object_iter_end(jtree);
					for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it))
						k++;
				}
				printf("KEYS %d\n", k);
				if (k > 0) {
					struct json_object_iterator it = json_object_iter_begin(jtree);
					struct json_object_iterator end = json_object_iter_end(jtree);
					for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
						const char *name = json_object_iter_peek_name(&it);
						printf("%zu\n%s\n", strlen(name), name);
					}
				}
			}
			json_object_put(jtree);
		}
		fflush(stdout);
		free(doc);
		free(path);
	}
	return 0;
}
