/*
Copyright 2026 The heal8s Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package v1alpha1

import (
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/heal8s/heal8s/api/v1beta1"
)

// Parameter names of v1alpha1's params map.
const (
	ParamPercent      = "percent"
	ParamMinIncrease  = "minIncrease"
	ParamRoundTo      = "roundTo"
	ParamMax          = "max"
	ParamMaxReplicas  = "maxReplicas"
	ParamMaxRevisions = "maxRevisions"
)

// actionToHub turns v1alpha1's action name and string parameters into the typed union. Parameters
// that do not parse, or that the action does not take, are dropped here; conversion keeps them
// in an annotation.
func actionToHub(name string, params map[string]string) v1beta1.Action {
	var a v1beta1.Action
	switch v1beta1.ActionType(name) {
	case v1beta1.ActionIncreaseMemory:
		a.IncreaseMemory = &v1beta1.IncreaseMemoryAction{
			Percent:     int32Param(params, ParamPercent),
			MinIncrease: quantityParam(params, ParamMinIncrease),
			RoundTo:     quantityParam(params, ParamRoundTo),
			Max:         quantityParam(params, ParamMax),
		}
	case v1beta1.ActionIncreaseCPU:
		a.IncreaseCPU = &v1beta1.IncreaseCPUAction{
			Percent: int32Param(params, ParamPercent),
			Max:     quantityParam(params, ParamMax),
		}
	case v1beta1.ActionScaleUp:
		a.ScaleUp = &v1beta1.ScaleUpAction{
			Percent:     int32Param(params, ParamPercent),
			MaxReplicas: int32Param(params, ParamMaxReplicas),
		}
	case v1beta1.ActionRollbackImage:
		a.RollbackImage = &v1beta1.RollbackImageAction{
			MaxRevisions: int32Param(params, ParamMaxRevisions),
		}
	}
	return a
}

// actionFromHub turns the typed union into v1alpha1's name and parameters. Only the first member
// set is kept; a valid object has exactly one.
func actionFromHub(a v1beta1.Action) (string, map[string]string) {
	params := map[string]string{}
	switch {
	case a.IncreaseMemory != nil:
		putInt32(params, ParamPercent, a.IncreaseMemory.Percent)
		putQuantity(params, ParamMinIncrease, a.IncreaseMemory.MinIncrease)
		putQuantity(params, ParamRoundTo, a.IncreaseMemory.RoundTo)
		putQuantity(params, ParamMax, a.IncreaseMemory.Max)
	case a.IncreaseCPU != nil:
		putInt32(params, ParamPercent, a.IncreaseCPU.Percent)
		putQuantity(params, ParamMax, a.IncreaseCPU.Max)
	case a.ScaleUp != nil:
		putInt32(params, ParamPercent, a.ScaleUp.Percent)
		putInt32(params, ParamMaxReplicas, a.ScaleUp.MaxReplicas)
	case a.RollbackImage != nil:
		putInt32(params, ParamMaxRevisions, a.RollbackImage.MaxRevisions)
	}
	if len(params) == 0 {
		params = nil
	}
	return string(a.Type()), params
}

func int32Param(params map[string]string, key string) *int32 {
	v, ok := params[key]
	if !ok {
		return nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
	if err != nil {
		return nil
	}
	out := int32(n)
	return &out
}

func quantityParam(params map[string]string, key string) *resource.Quantity {
	v, ok := params[key]
	if !ok {
		return nil
	}
	q, err := resource.ParseQuantity(strings.TrimSpace(v))
	if err != nil {
		return nil
	}
	return &q
}

func putInt32(params map[string]string, key string, v *int32) {
	if v != nil {
		params[key] = strconv.FormatInt(int64(*v), 10)
	}
}

func putQuantity(params map[string]string, key string, q *resource.Quantity) {
	if q != nil {
		params[key] = q.String()
	}
}
