"""bench/recordings.py's MIDI writer: the bytes fluidsynth reads, against the Standard MIDI File specification."""

import pytest

from bench import recordings


@pytest.mark.parametrize("value, expected", [
    (0x00, "00"),  # the specification's own table of variable-length quantities
    (0x40, "40"),
    (0x7F, "7F"),  # the largest one-byte quantity
    (0x80, "81 00"),  # the smallest that needs a continuation byte
    (0x2000, "C0 00"),
    (0x3FFF, "FF 7F"),
    (0x4000, "81 80 00"),
    (0x1FFFFF, "FF FF 7F"),
    (0x200000, "81 80 80 00"),
    (0x0FFFFFFF, "FF FF FF 7F"),  # the largest the format allows
])
def test_variable_length_quantities_match_the_specification(value, expected):
    assert recordings.variable_length(value) == bytes.fromhex(expected)


def test_one_note_makes_a_format_0_file_with_tempo_program_note_on_and_off():
    data = recordings.midi_file({0: 33}, [(1.0, 0.5, 0, 60, 100)], tempo=120)
    track = bytes.fromhex(
        "00 FF 51 03 07 A1 20"  # tempo: 500000 microseconds a beat (120 beats a minute)
        " 00 C0 21"  # channel 1 plays program 33
        " 83 60 90 3C 64"  # 480 ticks later (one beat): note 60 on, velocity 100
        " 81 6F 80 3C 00"  # 239 ticks later (half a beat less one tick): note 60 off
        " 00 FF 2F 00")  # end of track
    assert data == (b"MThd" + bytes.fromhex("00000006 0000 0001 01E0") + b"MTrk" + len(track).to_bytes(4, "big")
                    + track)
