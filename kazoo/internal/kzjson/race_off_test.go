//go:build !race

package kzjson

const raceEnabled = false
