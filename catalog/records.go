package catalog

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
)

// Record checksums (format version 2).
//
// Every JSON record the catalog writes (segments, history entries, job
// headers and tasks, destinations, export jobs, tokens) is stored sealed:
// the byte sealTag, a CRC-32C (Castagnoli) of the record's key and JSON,
// big endian, then the JSON. Reading checks the sum, so a damaged record
// is ErrCorrupt and never a plausible record with a flipped name or
// count. Records written by format version 1 are bare JSON objects,
// which start with '{': they are read unchecked, as before, and sealed
// when next written. Member blobs carry the same sum (memberBlobVersion
// 2); customer key lists are checked against the hash they are stored
// under.
const sealTag = 0x01

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// recordSum is the checksum of a record's key and payload.
func recordSum(k, payload []byte) uint32 {
	return crc32.Update(crc32.Checksum(k, castagnoli), castagnoli, payload)
}

// seal returns payload sealed under the key k.
func seal(k, payload []byte) []byte {
	out := make([]byte, 5, 5+len(payload))
	out[0] = sealTag
	binary.BigEndian.PutUint32(out[1:], recordSum(k, payload))
	return append(out, payload...)
}

// unseal returns the JSON of the record v stored under k: the checked
// payload of a sealed record, or a version 1 record as it is.
func unseal(k, v []byte) ([]byte, error) {
	switch {
	case len(v) > 0 && v[0] == '{':
		return v, nil
	case len(v) >= 5 && v[0] == sealTag:
		if recordSum(k, v[5:]) != binary.BigEndian.Uint32(v[1:]) {
			return nil, errors.New("the record's checksum does not match: it is damaged")
		}
		return v[5:], nil
	}
	return nil, errors.New("the record has an unknown encoding")
}

// encodeRecord returns v as JSON sealed under the key k.
func encodeRecord(k []byte, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return seal(k, b), nil
}

// decodeRecord decodes the record v stored under k into into; an error
// wraps ErrCorrupt.
func decodeRecord(k, v []byte, into any) error {
	b, err := unseal(k, v)
	if err == nil {
		err = json.Unmarshal(b, into)
	}
	if err != nil {
		return corrupt("%v", err)
	}
	return nil
}
